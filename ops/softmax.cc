// softmax and log_softmax over the last axis: kernels over [rows, cols], and row tiles so a
// fused run can hold them.
#include <cstdint>
#include <vector>

#include "base/status_macros.h"
#include "graph/graph.h"
#include "graph/op_def.h"
#include "graph/vjp_context.h"
#include "ops/kernels/reduce.h"
#include "ops/op_util.h"
#include "ops/ops.h"
#include "ops/registry.h"

namespace tg {
namespace {

using ops::Build;
using ops::DispatchFloat;
using ops::RequireFloat;

// ---- softmax and log_softmax (shared pieces) ------------------------------
// Both run over the last axis of a rank >= 1 tensor, seen as [rows, cols].
absl::StatusOr<TensorType> LastAxisInfer(absl::Span<const TensorType> in, const Attrs&) {
  TG_RETURN_IF_ERROR(RequireFloat(in[0], "input"));
  if (in[0].shape.rank() == 0) {
    return absl::InvalidArgumentError("needs an input of rank >= 1, got a scalar []");
  }
  return in[0];
}

// Rows are the leading dimension only when there is one besides the softmax axis.
RowFacts LastAxisRows(const Attrs& attrs, absl::Span<const TensorType> in) {
  return in[0].shape.rank() >= 2 ? ops::RowsFromOperand0(attrs, in) : RowFacts{};
}

template <class T, bool kLog>
absl::Status LastAxisTyped(const KernelContext& ctx) {
  const Shape& s = ctx.inputs[0].shape();
  const int64_t rows = s.Product(0, s.rank() - 1), cols = s[s.rank() - 1];
  const T* x = ctx.inputs[0].data<T>();
  T* out = ctx.output.data<T>();
  if constexpr (kLog) {
    kernels::LogSoftmaxRows(x, out, rows, cols, ctx.accumulate);
  } else {
    kernels::SoftmaxRows(x, out, rows, cols, ctx.accumulate);
  }
  return absl::OkStatus();
}

// Row tiles (TileShape::kRow): one row of n elements, the kernel's bits.
template <class T>
void SoftmaxTile(absl::Span<const T* const> in, absl::Span<const int64_t>, T* out, int64_t n,
                 const Attrs&, bool accumulate) {
  kernels::SoftmaxRows(in[0], out, 1, n, accumulate);
}
template <class T>
void LogSoftmaxTile(absl::Span<const T* const> in, absl::Span<const int64_t>, T* out, int64_t n,
                    const Attrs&, bool accumulate) {
  kernels::LogSoftmaxRows(in[0], out, 1, n, accumulate);
}

// ---- softmax --------------------------------------------------------------
//   y = exp(x - max) / sum(exp(x - max))   over the last axis
//   dx = y * (dy - sum(dy * y, -1, keepdims))
absl::Status SoftmaxKernel(const KernelContext& ctx) {
  return DispatchFloat(ctx.output.dtype(),
                       [&]<class T>(T) { return LastAxisTyped<T, false>(ctx); });
}

void SoftmaxVjp(VjpContext& ctx) {
  if (!ctx.needs_grad(0)) return;
  const Expr y = ctx.output(), dy = ctx.grad_output();
  ctx.AccumulateGrad(0, Mul(y, Sub(dy, Sum(Mul(dy, y), -1, {.keepdims = true}))));
}

const OpDef kSoftmax = {
    .name = "softmax",
    .arity = 1,
    .infer = LastAxisInfer,
    .forward = SoftmaxKernel,
    .vjp = SoftmaxVjp,
    .pointwise = {.f32 = SoftmaxTile<float>, .f64 = SoftmaxTile<double>,
                  .shape = TileShape::kRow},
    .rows = LastAxisRows,
};

// ---- log_softmax ----------------------------------------------------------
//   y = (x - max) - log(sum(exp(x - max)))   over the last axis
//   dx = dy - exp(y) * sum(dy, -1, keepdims)
absl::Status LogSoftmaxKernel(const KernelContext& ctx) {
  return DispatchFloat(ctx.output.dtype(),
                       [&]<class T>(T) { return LastAxisTyped<T, true>(ctx); });
}

void LogSoftmaxVjp(VjpContext& ctx) {
  if (!ctx.needs_grad(0)) return;
  const Expr y = ctx.output(), dy = ctx.grad_output();
  ctx.AccumulateGrad(0, Sub(dy, Mul(Exp(y), Sum(dy, -1, {.keepdims = true}))));
}

const OpDef kLogSoftmax = {
    .name = "log_softmax",
    .arity = 1,
    .infer = LastAxisInfer,
    .forward = LogSoftmaxKernel,
    .vjp = LogSoftmaxVjp,
    .pointwise = {.f32 = LogSoftmaxTile<float>, .f64 = LogSoftmaxTile<double>,
                  .shape = TileShape::kRow},
    .rows = LastAxisRows,
};

}  // namespace

Expr Softmax(Expr x) { return Build(kSoftmax, {x}); }

Expr LogSoftmax(Expr x) { return Build(kLogSoftmax, {x}); }

std::vector<const OpDef*> SoftmaxOps() { return {&kSoftmax, &kLogSoftmax}; }

}  // namespace tg
