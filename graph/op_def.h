/// \file
/// OpDef: everything tapegrad knows about one op. The graph, the executor, Backward and the
/// compiler read only these fields, so they never name a specific op, and a user's own op
/// (tg::RegisterOp) gets the same treatment as a built-in one.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "graph/attrs.h"
#include "graph/tensor.h"

namespace tg {

class VjpContext;
struct ExecOptions;

/// The static type of a value: what shape inference consumes and produces.
struct TensorType {
  DType dtype = DType::kF32;  ///< Element type.
  Shape shape;  ///< Dimensions.
};

/// What a forward kernel sees. With `accumulate`, it adds its result into `output`
/// (out += result) instead of overwriting it; Backward uses this to write gradient products
/// straight into a gradient buffer.
struct KernelContext {
  absl::Span<const Tensor> inputs;  ///< The input values, in operand order.
  const Tensor& output;  ///< Where the result goes; its buffer is already assigned.
  const Attrs& attrs;  ///< The node's attributes.
  bool accumulate;  ///< Add into `output` rather than overwrite it.
  const ExecOptions& options;  ///< Threads and the like.
  /// The prepared form (OperandPreparation) of the operand the op's PreparedForm names, made
  /// by OperandPreparation::prepare from that operand's current bytes; null (always in eager
  /// mode): the kernel reads the operand as it is. The operand is still in `inputs`.
  const std::byte* prepared = nullptr;
};

/// Returns the output type, or InvalidArgument with a message naming the offending shapes
/// (the graph adds the op name, all input types and the node path).
using InferFn = absl::StatusOr<TensorType> (*)(absl::Span<const TensorType> inputs,
                                              const Attrs& attrs);
/// Runs an op. Data-dependent failures (an id out of range) are returned, never aborted on.
using KernelFn = absl::Status (*)(const KernelContext& ctx);
/// Builds the gradient of each input from ops and hands it to ctx.AccumulateGrad.
using VjpFn = void (*)(VjpContext& ctx);

/// A pointwise op's tile function: `out[0..n) (+)= f(inputs[k][0..n))`. `strides[k]` is 1
/// when input k holds n elements, 0 when it is one value repeated over the n (given only to
/// tiles that declare PointwiseTiles::broadcasts). A row-sum tile (TileShape::kRowSum) instead
/// sums input 0's n elements into `out[0]`; a row tile (TileShape::kRow) maps one whole row of
/// n elements of each input to a row of n outputs. A compiler fuses chains of such ops by
/// running their tiles over L1-sized chunks of whole rows.
template <class T>
using TileFn = void (*)(absl::Span<const T* const> inputs, absl::Span<const int64_t> strides,
                        T* out, int64_t n, const Attrs& attrs, bool accumulate);
/// What a tile computes over its n elements.
enum class TileShape : uint8_t {
  kElementwise,  ///< n outputs, each from the inputs' elements at its index.
  kRowSum,  ///< One output: the sum of input 0's n elements (a row of a sum over the last axis).
  /// n outputs from the inputs' n elements, each output depending on the whole row (a
  /// softmax or a layer normalisation over the last axis): called once per row, n the row's
  /// width, every input of the output's shape.
  kRow,
};
/// Whether an application of the op (its attributes and input types) runs on its tiles.
using TilesApplyFn = bool (*)(const Attrs& attrs, absl::Span<const TensorType> inputs);
/// A pointwise op's tile functions, one per float dtype, and what they compute.
struct PointwiseTiles {
  TileFn<float> f32 = nullptr;  ///< The f32 tile; null: f32 runs are not fused.
  TileFn<double> f64 = nullptr;  ///< The f64 tile; null: f64 runs are not fused.
  /// Elementwise over the output's elements; a row sum: the op sums the last axis of input
  /// 0 and keeps every other axis (its output has one element per row of input 0); or row to
  /// row over the last axis.
  TileShape shape = TileShape::kElementwise;
  /// Elementwise only: inputs may have fewer elements than the output and broadcast to it as
  /// NumPy does (a bias [D] over rows, a statistic [B,1] over columns); the tile then takes a
  /// stride of 0 for an input repeated over its n elements.
  bool broadcasts = false;
  /// Null: every application runs on the tiles (same-shape operands, or broadcast ones with
  /// `broadcasts`). Set: only those it accepts (a sum over the last axis, not the first).
  TilesApplyFn applies = nullptr;
  /// Whether the f32 tile is set.
  explicit operator bool() const { return f32 != nullptr; }
};

/// A block of columns of a row-major tensor: row r's block starts at element
/// `offset + r * row_stride` (the tensor's rows are its leading axes, its columns the last).
struct ColumnBlock {
  int64_t offset = 0;  ///< Element offset of row 0's block.
  int64_t row_stride = 0;  ///< Elements from one row's block to the next (the full width).
};
/// The column block an application of the op reads or writes, or nullopt if it has none.
using ColumnBlockFn = std::optional<ColumnBlock> (*)(const Attrs& attrs,
                                                     absl::Span<const TensorType> inputs);

/// How output rows (the leading dimension) follow operand rows.
enum class RowKind : uint8_t {
  kNone,         ///< No row structure the compiler may use.
  kIndependent,  ///< Output row r depends only on row r of each row-carrying operand.
  kSummed,       ///< Output is a sum over rows the row-carrying operands share (`a^T b`).
};
/// An op's row structure for given operands: what lets the compiler batch work over time.
struct RowFacts {
  RowKind kind = RowKind::kNone;  ///< How output rows follow operand rows.
  uint32_t row_operands = 0;  ///< Bit i set: operand i carries rows.
};
/// The row facts of an application of the op to `inputs`.
using RowFactsFn = RowFacts (*)(const Attrs& attrs, absl::Span<const TensorType> inputs);

/// An operand an application of the op can read in a prepared form (a weight packed for its
/// products), and what that form is.
struct PreparedForm {
  int operand = -1;  ///< The input it stands for.
  int64_t bytes = 0;  ///< Its size.
  /// Applications of the op to one value with equal `operand` and `kind` read the same form,
  /// so one prepared copy serves them all (a matmul's B and its B^T are two kinds).
  int64_t kind = 0;
};
/// The operand an application of the op (its attributes and input types) reads prepared, or
/// nullopt when preparing would not pay for it.
using PreparedFormFn = std::optional<PreparedForm> (*)(const Attrs& attrs,
                                                       absl::Span<const TensorType> inputs);
/// What OperandPreparation::prepare sees.
struct PrepareContext {
  const Tensor& operand;  ///< The operand's current value.
  /// Where the form goes: PreparedForm::bytes bytes (rounded up to whole elements of the
  /// operand's dtype), 64-byte aligned, as a 1-D tensor of the operand's dtype.
  const Tensor& prepared;
  const Attrs& attrs;  ///< The attributes of the application the form was declared for.
  const ExecOptions& options;  ///< Threads and the like.
};
/// Writes the prepared form of ctx.operand.
using PrepareFn = absl::Status (*)(const PrepareContext& ctx);
/// Set for an op that can read an operand in a prepared form. A compiled program prepares
/// such an operand once per run when it does not change during the run (no step writes it: a
/// parameter, a constant, a feed) and at least two of its steps read it in the same form; its
/// kernels then get the form as KernelContext::prepared.
struct OperandPreparation {
  PreparedFormFn form = nullptr;  ///< Which operand, and its form's size and kind.
  PrepareFn prepare = nullptr;  ///< Makes the form.
  /// Whether the op declares one.
  explicit operator bool() const { return form != nullptr && prepare != nullptr; }
};

/// If the output is a dense view of input 0, returns its element offset there: the op then
/// runs no kernel, and its gradient buffer is a view of the input's gradient buffer.
using ViewFn = std::optional<int64_t> (*)(const Attrs& attrs,
                                          absl::Span<const TensorType> inputs);

/// Everything tapegrad knows about one op (see graph/op_def.h). Register it with
/// RegisterOp and apply it with Graph::AddNode.
struct OpDef {
  std::string_view name = {};  ///< Unique; appears in node paths and errors.
  int arity = 1;              ///< Number of inputs; -1 for any number >= 1.
  InferFn infer = nullptr;  ///< Shape and dtype inference; required.
  KernelFn forward = nullptr;  ///< Null only for leaves and views.
  VjpFn vjp = nullptr;         ///< Required unless `differentiable` is false.
  /// False: no gradient flows through this op (stop_gradient, one_hot) and `vjp` stays null.
  /// RegisterOp refuses a differentiable op without a VJP, so a forgotten rule is an error,
  /// not silently zero gradients.
  bool differentiable = true;
  uint32_t no_grad_inputs = 0;  ///< Bit i: input i is not differentiable (ids, targets).
  PointwiseTiles pointwise = {};  ///< Set: the op runs on tiles (see PointwiseTiles).
  RowFactsFn rows = nullptr;  ///< Row facts for time batching; null: none.
  ViewFn view = nullptr;  ///< Set for ops whose output may be a view of input 0.
  /// Set with copy tiles: the output is a block of columns of input 0 (a slice of the last
  /// axis): a fused run reads the block in place, row by row, and copies it only if a step
  /// outside the run reads the output.
  ColumnBlockFn column_view = nullptr;
  /// Set with copy tiles: the output is zeros but for a block of columns that is input 0 (the
  /// gradient of a column slice; with accumulate, only the block is added to). A fused run
  /// writes the block row by row.
  ColumnBlockFn column_scatter = nullptr;
  /// Set: an operand the kernel can read in a prepared form (see OperandPreparation).
  OperandPreparation prepare = {};
  bool is_leaf = false;  ///< Inputs, constants, parameters: values come from outside.
  /// >= 0: attrs.ints[seed_attr] seeds the op's random draws (dropout). A compiled program
  /// re-seeds such an instruction on every run (base/random.h ReplaySeed), so each replay
  /// draws new numbers while a kernel and its gradient, recorded with one seed, still agree.
  int seed_attr = -1;

  /// Whether a gradient flows to input `input` (the op has a VJP and the input is not
  /// excluded by no_grad_inputs).
  bool Differentiable(int input) const {
    // Inputs past 31 (a long concat) have no bit: they are differentiable.
    return vjp != nullptr && !(input < 32 && ((no_grad_inputs >> input) & 1u));
  }
};

}  // namespace tg
