/// \file
/// Pointwise fusion: a run of consecutive fusable steps (graph/compile/fusion_geometry.h: an
/// LSTM's bias add, gate sum, column slices, gates and cell update; a layer norm's row sums
/// and broadcasts; their backward) becomes one step that walks the run's rows in chunks of
/// about 2 KB per operand and runs each member's declared tile function (OpDef::pointwise) on
/// the chunk, in program order. A value one member makes is read by the next while it is
/// still in L1, and the run costs one dispatch instead of one per op. A value the fusion plan
/// keeps internal (graph/compile/fusion_plan.h) lives only in the chunk buffer, and a column
/// slice read only inside the run is read in place, row by row.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "absl/container/inlined_vector.h"
#include "absl/types/span.h"
#include "graph/compile/executable.h"
#include "graph/compile/fusion_geometry.h"

namespace tg::compile {

/// Where a fused member touches one operand, per row. Small: a run replays thousands.
struct RowOperand {
  /// Byte offset of row 0 in its space (kFixed: the address; kScratch: in the chunk buffer).
  int64_t offset = 0;
  int32_t row_stride = 0;  ///< Elements from one row to the next (in the chunk buffer too).
  Space space = Space::kFixed;  ///< Where the bytes are; kScratch: the range's chunk buffer.
  uint8_t col_stride = 1;  ///< 1: `width` elements; 0: one value repeated.
};

/// One member of a fused run, ready to run: everything the run reads per member in one small
/// record (a layer-normalised LSTM replays about 90 per step).
struct FusedMember {
  void (*tile)() = nullptr;  ///< The op's TileFn for the run's dtype.
  int32_t attrs = -1;  ///< The member's attributes, in Executable::attrs.
  int32_t width = 0;  ///< Elements per tile call per row.
  int32_t zero_width = 0;  ///< > 0: zero the output rows' other columns (a column scatter).
  int32_t zero_offset = 0;  ///< Elements from the block to its row's first element.
  uint8_t num_inputs = 0;  ///< Inputs used in `inputs`.
  bool accumulate = false;  ///< output += result.
  bool dense = false;  ///< Every operand is whole rows: one tile call per chunk.
  std::array<RowOperand, kMaxTileInputs> inputs;  ///< Per input.
  RowOperand output;  ///< The output (row 0 of its block).
};

/// The rows, chunks and members of a fused step (Step::run).
struct FusedRun {
  int64_t rows = 0;  ///< Rows the run walks.
  int64_t chunk_rows = 1;  ///< Rows per chunk.
  int64_t scratch_bytes = 0;  ///< Chunk buffer bytes one range of rows needs.
  int64_t work = 0;  ///< Element operations (rows x member widths).
  /// The members that run, in order (a column view read in place runs nothing).
  std::vector<FusedMember> members;
};

/// Tile calls one run of `run` makes (a dense member one per chunk, any other one per row).
int64_t TileCalls(const FusedRun& run);

/// The fused step of `members` (lowered steps; an operand in Space::kScratch is an internal
/// value, its offset the value's id), `ops` their applications, `flat` the run's model.
Step BuildFusedStep(std::vector<Step> members, absl::Span<const FusionOp> ops, bool flat);

/// `steps` with every run of fusable consecutive steps (two or more) replaced by one fused
/// step; every member writes its output (no step's value is internal). `shapes` and `attrs`
/// are what the steps' ids index (Executable::shapes, Executable::attrs).
std::vector<Step> FusePointwise(std::vector<Step> steps, absl::Span<const Shape> shapes,
                                absl::Span<const Attrs> attrs);

/// Fused runs with fewer element operations than this (elements x members) run on the
/// caller alone; above it they are split over `threads` (the caller and pool workers). An
/// LSTM step's forward at batch 32, hidden 256 (8,192 elements x 9 ops) is split.
inline constexpr int64_t kParallelFusedWork = int64_t{1} << 15;

/// Ranges of rows a fused run is split into at most: one chunk buffer each.
inline int MaxFusedRanges(int threads) { return 2 * (threads > 1 ? threads : 1); }

/// Runs a fused step (its members' tiles, chunk by chunk) with its operands in `bases` and
/// its members' attributes in `attrs` (Executable::attrs).
void RunFused(const Step& fused, const Bases& bases, const Attrs* attrs, int threads);

}  // namespace tg::compile
