// Row normalisation over the last axis, (x - mean) / sqrt(var + eps): layer normalisation
// without its gain and bias (models/layers.h LayerNorm adds them), and its gradient. Each is
// one kernel over rows and declares row tiles (TileShape::kRow), so a compiled program runs
// a row's statistics, its normalisation and the ops around it in one fused pass instead of
// a row sum, a scale and a broadcast per statistic.
#include <cstdint>
#include <vector>

#include "fmt/format.h"
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
using ops::ScalarAttrs;

absl::Status RequireRows(const TensorType& t, double eps) {
  if (absl::Status s = ops::RequireFloat(t, "input"); !s.ok()) return s;
  if (t.shape.rank() == 0) {
    return absl::InvalidArgumentError("needs an input of rank >= 1, got a scalar []");
  }
  if (!(eps >= 0)) {
    return absl::InvalidArgumentError(fmt::format("eps must be >= 0, got {}", eps));
  }
  return absl::OkStatus();
}

absl::StatusOr<TensorType> NormalizeInfer(absl::Span<const TensorType> in, const Attrs& attrs) {
  if (absl::Status s = RequireRows(in[0], attrs.scalar); !s.ok()) return s;
  return in[0];
}

absl::StatusOr<TensorType> NormalizeGradInfer(absl::Span<const TensorType> in,
                                              const Attrs& attrs) {
  if (absl::Status s = RequireRows(in[0], attrs.scalar); !s.ok()) return s;
  return ops::SameShapeFloatPair(in, attrs);
}

// Rows are the leading axes only when there is one besides the normalised axis; then every
// operand (all of the output's shape) carries them.
RowFacts NormalizeRowFacts(const Attrs&, absl::Span<const TensorType> in) {
  if (in[0].shape.rank() < 2) return {};
  return {.kind = RowKind::kIndependent, .row_operands = (1u << in.size()) - 1};
}

// [rows, cols] of a tensor normalised over its last axis.
struct RowsCols {
  int64_t rows, cols;
};
RowsCols RowsOf(const Shape& s) { return {s.Product(0, s.rank() - 1), s[s.rank() - 1]}; }

// ---- normalize --------------------------------------------------------------
//   y = (x - mean) * s,  s = 1 / sqrt(var + eps)   over the last axis
//   dx = NormalizeGrad(x, dy) = s * (dy - mean(dy) - y * mean(dy * y))
absl::Status NormalizeKernel(const KernelContext& ctx) {
  return DispatchFloat(ctx.output.dtype(), [&]<class T>(T) {
    const auto [rows, cols] = RowsOf(ctx.output.shape());
    kernels::NormalizeRows(ctx.inputs[0].data<T>(), ctx.output.data<T>(), rows, cols,
                           static_cast<T>(ctx.attrs.scalar), ctx.accumulate);
    return absl::OkStatus();
  });
}

template <class T>
void NormalizeTile(absl::Span<const T* const> in, absl::Span<const int64_t>, T* out, int64_t n,
                   const Attrs& attrs, bool accumulate) {
  kernels::NormalizeRows(in[0], out, 1, n, static_cast<T>(attrs.scalar), accumulate);
}

void NormalizeVjp(VjpContext& ctx) {
  if (!ctx.needs_grad(0)) return;
  ctx.AccumulateGrad(0, NormalizeGrad(ctx.input(0), ctx.grad_output(), ctx.attrs().scalar));
}

const OpDef kNormalize = {
    .name = "normalize",
    .arity = 1,
    .infer = NormalizeInfer,
    .forward = NormalizeKernel,
    .vjp = NormalizeVjp,
    .pointwise = {.f32 = NormalizeTile<float>, .f64 = NormalizeTile<double>,
                  .shape = TileShape::kRow},
    .rows = NormalizeRowFacts,
};

// ---- normalize_grad -----------------------------------------------------------
//   h = J dy with J = s (I - 1 1^T / D - y y^T / D) per row (D the row's width), symmetric.
//   With incoming g, b = mean(y * dy), p = sum(g * y), G = sum(g * dy) - mean(dy) sum(g):
//   d_dy = J g = NormalizeGrad(x, g)
//   d_x  = -(s^2 / D) y (G - b p) - (s p / D) h - s b J g
//   (from ds/dx = -(s^2 / D) y, db/dx = h / D, dp/dx = J g).
absl::Status NormalizeGradKernel(const KernelContext& ctx) {
  return DispatchFloat(ctx.output.dtype(), [&]<class T>(T) {
    const auto [rows, cols] = RowsOf(ctx.output.shape());
    kernels::NormalizeGradRows(ctx.inputs[0].data<T>(), ctx.inputs[1].data<T>(),
                               ctx.output.data<T>(), rows, cols,
                               static_cast<T>(ctx.attrs.scalar), ctx.accumulate);
    return absl::OkStatus();
  });
}

template <class T>
void NormalizeGradTile(absl::Span<const T* const> in, absl::Span<const int64_t>, T* out,
                       int64_t n, const Attrs& attrs, bool accumulate) {
  kernels::NormalizeGradRows(in[0], in[1], out, 1, n, static_cast<T>(attrs.scalar), accumulate);
}

void NormalizeGradVjp(VjpContext& ctx) {
  const double eps = ctx.attrs().scalar;
  const Expr x = ctx.input(0), dy = ctx.input(1), g = ctx.grad_output();
  const Expr jg = NormalizeGrad(x, g, eps);
  if (ctx.needs_grad(1)) ctx.AccumulateGrad(1, jg);
  if (!ctx.needs_grad(0)) return;
  const ReduceOptions keep{.keepdims = true};
  const double width = static_cast<double>(x.shape()[x.shape().rank() - 1]);
  const Expr y = Normalize(x, eps);
  const Expr centred = x - Mean(x, -1, keep);
  const Expr sigma = Sqrt(AddScalar(Mean(Square(centred), -1, keep), eps));  // 1 / s
  const Expr b = Mean(y * dy, -1, keep), p = Sum(g * y, -1, keep);
  const Expr big_g = Sum(g * dy, -1, keep) - Mean(dy, -1, keep) * Sum(g, -1, keep);
  const Expr dx = Neg(y * (big_g - b * p) / Scale(Square(sigma), width)) -
                  ctx.output() * p / Scale(sigma, width) - jg * b / sigma;
  ctx.AccumulateGrad(0, dx);
}

const OpDef kNormalizeGrad = {
    .name = "normalize_grad",
    .arity = 2,
    .infer = NormalizeGradInfer,
    .forward = NormalizeGradKernel,
    .vjp = NormalizeGradVjp,
    .pointwise = {.f32 = NormalizeGradTile<float>, .f64 = NormalizeGradTile<double>,
                  .shape = TileShape::kRow},
    .rows = NormalizeRowFacts,
};

}  // namespace

// attrs.scalar is eps, the variance's floor.
Expr Normalize(Expr x, double eps) { return Build(kNormalize, {x}, ScalarAttrs(eps)); }

Expr NormalizeGrad(Expr x, Expr dy, double eps) {
  return Build(kNormalizeGrad, {x, dy}, ScalarAttrs(eps));
}

std::vector<const OpDef*> NormalizeOps() { return {&kNormalize, &kNormalizeGrad}; }

}  // namespace tg
