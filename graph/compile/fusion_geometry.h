/// \file
/// How pointwise fusion sees one op application, and which consecutive applications form a
/// run. A fused run walks R rows in chunks of whole rows; each member calls its tile once per
/// row (or once per chunk when all its operands are dense), over `width` elements. An operand
/// is read at a row stride (0: a bias [D] read by every row), with a column stride (0: one
/// value per row, a statistic [B,1]), from an offset (a block of columns of a wider matrix).
/// All of it follows from what the op declares (OpDef::pointwise, column_view,
/// column_scatter): the compiler names no op. Used on the program (value ids, buffers) by
/// the fusion plan and on lowered steps (spaces, offsets) by FusePointwise alike.
#pragma once

#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include "absl/container/inlined_vector.h"
#include "graph/attrs.h"
#include "graph/op_def.h"
#include "graph/tensor.h"

namespace tg::compile {

/// Bytes of one operand per chunk of a fused run (256 f64 or 512 f32 elements of the widest
/// member, at least one row), so a run's operands stay in L1.
inline constexpr int64_t kChunkBytes = 2048;

/// Pointwise ops with more inputs than this keep their own kernels (a run passes a tile its
/// operands from a fixed array: no allocation).
inline constexpr size_t kMaxTileInputs = 4;

/// One operand as a run member touches it, per row of the run.
struct OperandGeometry {
  int64_t offset = 0;  ///< Elements from the operand's first element to row 0's.
  int64_t row_stride = 0;  ///< Elements from one row to the next; 0: every row the same.
  int64_t width = 0;  ///< Elements touched per row.
  int64_t col_stride = 1;  ///< 1: `width` elements; 0: one value (width 1) repeated.
};

/// A fusable op application, as rows.
struct MemberGeometry {
  TileShape shape = TileShape::kElementwise;  ///< Elementwise, row sum or row to row.
  int64_t rows = 0;  ///< Rows the member runs over (the run's rows).
  int64_t width = 0;  ///< Elements per tile call per row (a row sum's input row).
  absl::InlinedVector<OperandGeometry, kMaxTileInputs> inputs;  ///< Per input.
  OperandGeometry output;  ///< The output.
  /// > 0 (a column scatter that writes): the output rows' full width; the elements of a row
  /// outside the block are zeroed.
  int64_t zero_width = 0;
  bool column_view = false;  ///< The output is a block of input 0's columns (OpDef::column_view).
};

/// An op application with its operands' types (what the geometry depends on).
struct FusionOp {
  const OpDef* op = nullptr;  ///< The op.
  const Attrs* attrs = nullptr;  ///< Its attributes.
  bool accumulate = false;  ///< output += result.
  absl::InlinedVector<TensorType, kMaxTileInputs> inputs;  ///< Input types.
  TensorType output;  ///< Output type.
};

/// The geometry of `f` as rows of the output's last axis (leading axes are rows), or nullopt
/// if it is not fusable that way.
std::optional<MemberGeometry> RowGeometry(const FusionOp& f);
/// The geometry of `f` as rows of one element over same-shape operands (any shape), or
/// nullopt.
std::optional<MemberGeometry> FlatGeometry(const FusionOp& f);

/// A member of a run as the grouping sees it: the op and its operands' places. `key` tells
/// memories apart (a buffer id, or a space); `offset` is in bytes within it.
struct FusionCandidate {
  FusionOp op;  ///< The application.
  /// Where an operand's bytes are.
  struct Place {
    int64_t key = 0;  ///< Which memory.
    int64_t offset = 0;  ///< First byte in it.
  };
  absl::InlinedVector<Place, kMaxTileInputs> inputs;  ///< Where each input is.
  Place output;  ///< Where the output is.
};

/// A run of consecutive candidates to fuse: [begin, end), and whether it walks rows of one
/// element (flat) or the output's rows.
struct RunSpan {
  int begin = 0;  ///< First member.
  int end = 0;  ///< One past the last.
  bool flat = false;  ///< Rows of one element (FlatGeometry), else RowGeometry.
};

/// The runs of two or more consecutive fusable candidates. A candidate joins the run before it
/// when both agree on the rows, the dtype, and memory: two operands in one memory must be
/// disjoint or touch each row in the same row (else chunk c of one member would not be chunk c
/// of another), and a row-broadcast operand may not be written in the run.
std::vector<RunSpan> GroupRuns(const std::vector<std::optional<FusionCandidate>>& candidates);

}  // namespace tg::compile
