// OpDef: everything tapegrad knows about one op. The graph, the executor, Backward and the
// compiler read only these fields, so they never name a specific op, and a user's own op
// (tg::RegisterOp) gets the same treatment as a built-in one.
#pragma once

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

// The static type of a value: what shape inference consumes and produces.
struct TensorType {
  DType dtype = DType::kF32;
  Shape shape;
};

// What a forward kernel sees. With `accumulate`, it adds its result into `output`
// (out += result) instead of overwriting it; Backward uses this to write gradient products
// straight into a gradient buffer.
struct KernelContext {
  absl::Span<const Tensor> inputs;
  const Tensor& output;
  const Attrs& attrs;
  bool accumulate;
  const ExecOptions& options;
};

// Returns the output type, or InvalidArgument with a message naming the offending shapes
// (the graph adds the op name, all input types and the node path).
using InferFn = absl::StatusOr<TensorType> (*)(absl::Span<const TensorType> inputs,
                                              const Attrs& attrs);
// Data-dependent failures (an id out of range) are returned, never aborted on.
using KernelFn = absl::Status (*)(const KernelContext& ctx);
// Builds the gradient of each input from ops and hands it to ctx.AccumulateGrad.
using VjpFn = void (*)(VjpContext& ctx);

// A pointwise op's tile function: out[0..n) (+)= f(inputs[k][0..n)) over same-shape
// operands. A compiler fuses chains of such ops by running their tiles over L1-sized chunks.
template <class T>
using TileFn = void (*)(absl::Span<const T* const> inputs, T* out, int64_t n,
                        const Attrs& attrs, bool accumulate);
struct PointwiseTiles {
  TileFn<float> f32 = nullptr;
  TileFn<double> f64 = nullptr;
  explicit operator bool() const { return f32 != nullptr; }
};

// How output rows (the leading dimension) follow operand rows.
enum class RowKind : uint8_t {
  kNone,         // no row structure the compiler may use
  kIndependent,  // output row r depends only on row r of each row-carrying operand
  kSummed,       // output is a sum over rows the row-carrying operands share (a^T b)
};
struct RowFacts {
  RowKind kind = RowKind::kNone;
  uint32_t row_operands = 0;  // bit i set: operand i carries rows
};
using RowFactsFn = RowFacts (*)(const Attrs& attrs, absl::Span<const TensorType> inputs);

// If the output is a dense view of input 0, returns its element offset there: the op then
// runs no kernel, and its gradient buffer is a view of the input's gradient buffer.
using ViewFn = std::optional<int64_t> (*)(const Attrs& attrs,
                                          absl::Span<const TensorType> inputs);

struct OpDef {
  std::string_view name = {};
  int arity = 1;              // number of inputs; -1 for any number >= 1
  InferFn infer = nullptr;
  KernelFn forward = nullptr;  // null only for leaves and views
  VjpFn vjp = nullptr;         // required unless `differentiable` is false
  // False: no gradient flows through this op (stop_gradient, one_hot) and `vjp` stays null.
  // RegisterOp refuses a differentiable op without a VJP, so a forgotten rule is an error,
  // not silently zero gradients.
  bool differentiable = true;
  uint32_t no_grad_inputs = 0;  // bit i: input i (< 32) is not differentiable (ids, targets)
  PointwiseTiles pointwise = {};  // set: the op is pointwise over same-shape operands
  RowFactsFn rows = nullptr;
  ViewFn view = nullptr;
  bool is_leaf = false;  // inputs, constants, parameters: values come from outside
  // >= 0: attrs.ints[seed_attr] seeds the op's random draws (dropout). A compiled program
  // re-seeds such an instruction on every run (base/random.h ReplaySeed), so each replay
  // draws new numbers while a kernel and its gradient, recorded with one seed, still agree.
  int seed_attr = -1;

  // Inputs from 32 on (concat of many) have no bit in no_grad_inputs: differentiable.
  bool Differentiable(int input) const {
    return vjp != nullptr && (input >= 32 || !(no_grad_inputs & (1u << input)));
  }
};

}  // namespace tg
