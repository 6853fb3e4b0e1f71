// Reductions and broadcasts: sum (all elements or one axis), sum_to and broadcast_to (each
// the other's gradient), mul_sum_to (a sum over rows of a product). Mean is a composition.
#include <algorithm>
#include <cstdint>
#include <initializer_list>
#include <utility>
#include <vector>

#include "fmt/format.h"
#include "graph/graph.h"
#include "graph/op_def.h"
#include "base/status_macros.h"
#include "graph/vjp_context.h"
#include "ops/kernels/pointwise.h"
#include "ops/kernels/reduce.h"
#include "ops/op_util.h"
#include "ops/ops.h"
#include "ops/registry.h"

namespace tg {
namespace {

using ops::BroadcastShapes;
using ops::DispatchFloat;
using ops::NormalizeAxis;
using ops::RequireFloat;

using ops::Build;

// Shape rules build their result in place: with GCC 12, moving a TensorType whose Shape has
// unused inline slots trips a -Wuninitialized false positive inside absl::InlinedVector.
absl::StatusOr<TensorType> TypeOf(DType dtype, const Shape& shape) {
  absl::StatusOr<TensorType> type(absl::in_place, dtype, shape);
  return type;
}

// ---- broadcast runs (shared by sum_to and broadcast_to) ---------------------
// Kernels walk the full shape with a fixed stack of counters (they never allocate), which
// bounds the rank.
constexpr int kMaxRank = Shape::kMaxRank;

// The full shape `big` as runs of adjacent dimensions that `small` (which broadcasts to
// `big`) either keeps or broadcasts, 1-dims dropped, innermost run last. Merging runs keeps
// the loops few and the innermost one long: [T,B,H] -> [H] is one outer run of T*B rows.
struct BroadcastRuns {
  int count = 0;
  int64_t size[kMaxRank];
  int64_t big_stride[kMaxRank];    // in elements of the big tensor
  int64_t small_stride[kMaxRank];  // in elements of the small tensor; 0 on a broadcast run
};

BroadcastRuns MakeRuns(const Shape& small, const Shape& big) {
  BroadcastRuns r;
  const int offset = big.rank() - small.rank();
  int64_t big_stride = 1, small_stride = 1;
  for (int i = big.rank() - 1; i >= 0; --i) {  // innermost first, reversed below
    const int64_t d = big[i];
    if (d == 1) continue;
    const bool kept = i >= offset && small[i - offset] == d;
    if (r.count > 0 && (r.small_stride[r.count - 1] != 0) == kept) {
      r.size[r.count - 1] *= d;  // strides are products of inner dims: the run stays dense
    } else {
      r.size[r.count] = d;
      r.big_stride[r.count] = big_stride;
      r.small_stride[r.count] = kept ? small_stride : 0;
      ++r.count;
    }
    big_stride *= d;
    if (kept) small_stride *= d;
  }
  if (r.count == 0) {  // every dimension is 1: a single element
    r.size[0] = r.big_stride[0] = r.small_stride[0] = 1;
    r.count = 1;
  }
  std::reverse(r.size, r.size + r.count);
  std::reverse(r.big_stride, r.big_stride + r.count);
  std::reverse(r.small_stride, r.small_stride + r.count);
  return r;
}

// Calls f(big_offset, small_offset) at the start of every innermost run, in row-major order
// (a fixed order: results repeat bitwise). The big tensor must not be empty.
template <class F>
void ForEachInnerRun(const BroadcastRuns& r, F&& f) {
  int64_t index[kMaxRank] = {};
  int64_t big = 0, small = 0;
  for (;;) {
    f(big, small);
    int d = r.count - 2;
    for (; d >= 0; --d) {
      big += r.big_stride[d];
      small += r.small_stride[d];
      if (++index[d] < r.size[d]) break;
      big -= r.big_stride[d] * r.size[d];
      small -= r.small_stride[d] * r.size[d];
      index[d] = 0;
    }
    if (d < 0) return;
  }
}

absl::Status RequireRankAtMost(const Shape& s, std::string_view what) {
  if (s.rank() <= kMaxRank) return absl::OkStatus();
  return absl::InvalidArgumentError(
      fmt::format("{} {} has rank {}; at most {} is supported", what, s, s.rank(), kMaxRank));
}

// ---- sum ------------------------------------------------------------------
//   attrs.ints = {}:                y = sum_i x_i (shape [])          dx = broadcast(dy)
//   attrs.ints = {axis, keepdims}:  y = sum_a x[..., a, ...]          dx = broadcast(dy with
//                                   (axis dropped unless keepdims)         a 1 at axis)
bool SumsAll(const Attrs& attrs) { return attrs.ints.empty(); }

absl::StatusOr<TensorType> SumInfer(absl::Span<const TensorType> in, const Attrs& attrs) {
  TG_RETURN_IF_ERROR(RequireFloat(in[0], "input"));
  if (SumsAll(attrs)) return TypeOf(in[0].dtype, Shape{});
  const Shape& x = in[0].shape;
  TG_ASSIGN_OR_RETURN(const int axis, NormalizeAxis(attrs.ints[0], x.rank()));
  absl::StatusOr<TensorType> y = TypeOf(in[0].dtype, Shape{});
  for (int i = 0; i < x.rank(); ++i) {
    if (i != axis) y->shape.push_back(x[i]);
    else if (attrs.Int(1) != 0) y->shape.push_back(1);
  }
  return y;
}

template <class T>
absl::Status SumTyped(const KernelContext& ctx) {
  const Tensor& x = ctx.inputs[0];
  T* out = ctx.output.data<T>();
  if (SumsAll(ctx.attrs)) {
    const T s = kernels::Sum(x.data<T>(), x.num_elements());
    *out = ctx.accumulate ? *out + s : s;
    return absl::OkStatus();
  }
  const Shape& shape = x.shape();
  int axis = static_cast<int>(ctx.attrs.ints[0]);
  if (axis < 0) axis += shape.rank();
  kernels::SumAxis(x.data<T>(), out, shape.Product(0, axis), shape[axis],
                   shape.Product(axis + 1, shape.rank()), ctx.accumulate);
  return absl::OkStatus();
}

absl::Status SumKernel(const KernelContext& ctx) {
  return DispatchFloat(ctx.output.dtype(), [&]<class T>(T) { return SumTyped<T>(ctx); });
}

void SumVjp(VjpContext& ctx) {
  if (!ctx.needs_grad(0)) return;
  const Shape x_shape = ctx.input(0).shape();
  Expr dy = ctx.grad_output();
  if (!SumsAll(ctx.attrs()) && ctx.attrs().Int(1) == 0) {
    int axis = static_cast<int>(ctx.attrs().ints[0]);
    if (axis < 0) axis += x_shape.rank();
    Shape kept = x_shape;
    kept[axis] = 1;
    dy = Reshape(dy, kept);
  }
  ctx.AccumulateGrad(0, BroadcastTo(dy, x_shape));
}

// Summing an axis other than the leading one leaves row r of the output a function of row r
// of x alone.
RowFacts SumRows(const Attrs& attrs, absl::Span<const TensorType> in) {
  if (SumsAll(attrs) || in[0].shape.rank() < 2) return {};
  int64_t axis = attrs.ints[0];
  if (axis < 0) axis += in[0].shape.rank();
  return axis != 0 ? ops::RowsFromOperand0(attrs, in) : RowFacts{};
}

// A sum over the last axis (keepdims or not) is a row sum: a fused run can end in it.
bool SumIsRowSum(const Attrs& attrs, absl::Span<const TensorType> in) {
  const int rank = in[0].shape.rank();
  if (SumsAll(attrs) || rank == 0) return false;
  const int64_t axis = attrs.ints[0] < 0 ? attrs.ints[0] + rank : attrs.ints[0];
  return axis == rank - 1;
}

// out[0] (+)= the sum of one row: SumAxis's bits for inner == 1.
template <class T>
void SumRowTile(absl::Span<const T* const> in, absl::Span<const int64_t>, T* out, int64_t n,
                const Attrs&, bool accumulate) {
  const T s = kernels::Sum(in[0], n);
  *out = accumulate ? *out + s : s;
}

const OpDef kSum = {
    .name = "sum",
    .arity = 1,
    .infer = SumInfer,
    .forward = SumKernel,
    .vjp = SumVjp,
    .pointwise = {.f32 = SumRowTile<float>, .f64 = SumRowTile<double>,
                  .shape = TileShape::kRowSum, .applies = SumIsRowSum},
    .rows = SumRows,
};

// ---- sum_to ---------------------------------------------------------------
//   attrs.shape = target, which broadcasts to x.shape:
//   y = x summed over every broadcast dimension (leading extra ones too; target's 1-dims kept)
//   dx = broadcast_to(dy, x.shape)
absl::StatusOr<TensorType> SumToInfer(absl::Span<const TensorType> in, const Attrs& attrs) {
  TG_RETURN_IF_ERROR(RequireFloat(in[0], "input"));
  TG_RETURN_IF_ERROR(RequireRankAtMost(in[0].shape, "input"));
  absl::StatusOr<Shape> b = BroadcastShapes(attrs.shape, in[0].shape);
  if (!b.ok() || !(*b == in[0].shape)) {
    return absl::InvalidArgumentError(fmt::format(
        "cannot sum {} to {}: the target must broadcast to the input", in[0].shape,
        attrs.shape));
  }
  return TypeOf(in[0].dtype, attrs.shape);
}

// One pass over x in row-major order, adding into out at the mapped index: no scratch
// buffer, whatever the number of reduced dimensions.
template <class T>
absl::Status SumToTyped(const KernelContext& ctx) {
  const Tensor& x = ctx.inputs[0];
  const T* xs = x.data<T>();
  T* out = ctx.output.data<T>();
  if (!ctx.accumulate) std::fill_n(out, ctx.output.num_elements(), T(0));
  if (x.num_elements() == 0) return absl::OkStatus();
  const BroadcastRuns r = MakeRuns(ctx.output.shape(), x.shape());
  const int64_t n = r.size[r.count - 1];
  if (r.count >= 2 && r.small_stride[r.count - 2] == 0 && r.small_stride[r.count - 1] != 0) {
    // [.., reduced, kept] innermost (a bias gradient): column sums held in registers over
    // all reduced rows at once, rather than one pass over out per row.
    BroadcastRuns outer = r;
    --outer.count;  // ForEachInnerRun then walks every run but the reduced one
    ForEachInnerRun(outer, [&](int64_t b, int64_t s) {
      kernels::SumAxis(xs + b, out + s, 1, r.size[r.count - 2], n, /*accumulate=*/true);
    });
  } else if (r.small_stride[r.count - 1] != 0) {  // innermost dims kept: add whole rows
    ForEachInnerRun(r, [&](int64_t b, int64_t s) {
      kernels::Binary(kernels::AddFn{}, out + s, 1, xs + b, 1, out + s, n, false);
    });
  } else {  // innermost dims reduced: one dense sum per run
    ForEachInnerRun(r, [&](int64_t b, int64_t s) { out[s] += kernels::Sum(xs + b, n); });
  }
  return absl::OkStatus();
}

absl::Status SumToKernel(const KernelContext& ctx) {
  return DispatchFloat(ctx.output.dtype(), [&]<class T>(T) { return SumToTyped<T>(ctx); });
}

void SumToVjp(VjpContext& ctx) {
  if (!ctx.needs_grad(0)) return;
  ctx.AccumulateGrad(0, BroadcastTo(ctx.grad_output(), ctx.input(0).shape()));
}

// To the input's shape with the last axis 1: a row sum, which a fused run can end in.
bool SumToIsRowSum(const Attrs& attrs, absl::Span<const TensorType> in) {
  const Shape& x = in[0].shape;
  const Shape& to = attrs.shape;
  if (x.rank() == 0 || to.rank() != x.rank() || to[x.rank() - 1] != 1) return false;
  for (int d = 0; d + 1 < x.rank(); ++d) {
    if (to[d] != x[d]) return false;
  }
  return true;
}

// out[0] (+)= the sum of one row, added onto zeros as SumToTyped does.
template <class T>
void SumToRowTile(absl::Span<const T* const> in, absl::Span<const int64_t>, T* out, int64_t n,
                  const Attrs&, bool accumulate) {
  *out = (accumulate ? *out : T(0)) + kernels::Sum(in[0], n);
}

// [N, D] summed to [D] or [1, D] (a bias gradient) is a sum over the rows of x: the sums of
// all steps into one gradient become one sum over their stacked rows.
RowFacts SumToRows(const Attrs& attrs, absl::Span<const TensorType> in) {
  const Shape& x = in[0].shape;
  const Shape& to = attrs.shape;
  if (x.rank() != 2) return {};
  const bool kept_row = to.rank() == 2 && to[0] == 1 && to[1] == x[1];
  if (!(to.rank() == 1 && to[0] == x[1]) && !kept_row) return {};
  return {.kind = RowKind::kSummed, .row_operands = 1u};
}

const OpDef kSumTo = {
    .name = "sum_to",
    .arity = 1,
    .infer = SumToInfer,
    .forward = SumToKernel,
    .vjp = SumToVjp,
    .pointwise = {.f32 = SumToRowTile<float>, .f64 = SumToRowTile<double>,
                  .shape = TileShape::kRowSum, .applies = SumToIsRowSum},
    .rows = SumToRows,
};

// ---- mul_sum_to -------------------------------------------------------------
//   attrs.shape = [D] or [1, D];  a, b [N, D]:  y = sum over the N rows of a * b
//   da = b * dy     db = a * dy   (dy broadcast over the rows)
// SumTo(a * b) as one op, the gradient of a row operand of a product (a gain): a sum over
// rows (kSummed), which time batching makes one op over every step's rows, as it does a
// weight gradient, instead of a product per step.
bool IsRowOf(const Shape& to, const Shape& x) {
  return x.rank() == 2 && ((to.rank() == 1 && to[0] == x[1]) ||
                           (to.rank() == 2 && to[0] == 1 && to[1] == x[1]));
}

absl::StatusOr<TensorType> MulSumToInfer(absl::Span<const TensorType> in, const Attrs& attrs) {
  TG_RETURN_IF_ERROR(RequireFloat(in[0], "input 0"));
  TG_ASSIGN_OR_RETURN(TensorType same, ops::SameShapeFloatPair(in, attrs));
  if (!IsRowOf(attrs.shape, same.shape)) {
    return absl::InvalidArgumentError(fmt::format(
        "sums [N, D] inputs to [D] or [1, D]: cannot sum {} to {}", same.shape, attrs.shape));
  }
  return TypeOf(same.dtype, attrs.shape);
}

template <class T>
absl::Status MulSumToTyped(const KernelContext& ctx) {
  const Shape& x = ctx.inputs[0].shape();
  const int64_t rows = x[0], cols = x[1];
  kernels::MulSumRows(ctx.inputs[0].data<T>(), ctx.inputs[1].data<T>(), ctx.output.data<T>(),
                      rows, cols, ctx.accumulate);
  return absl::OkStatus();
}

absl::Status MulSumToKernel(const KernelContext& ctx) {
  return DispatchFloat(ctx.output.dtype(), [&]<class T>(T) { return MulSumToTyped<T>(ctx); });
}

void MulSumToVjp(VjpContext& ctx) {
  const Expr dy = ctx.grad_output();
  if (ctx.needs_grad(0)) ctx.AccumulateGrad(0, Mul(ctx.input(1), dy));
  if (ctx.needs_grad(1)) ctx.AccumulateGrad(1, Mul(ctx.input(0), dy));
}

RowFacts MulSumToRows(const Attrs&, absl::Span<const TensorType>) {
  return {.kind = RowKind::kSummed, .row_operands = 0b11u};
}

const OpDef kMulSumTo = {
    .name = "mul_sum_to",
    .arity = 2,
    .infer = MulSumToInfer,
    .forward = MulSumToKernel,
    .vjp = MulSumToVjp,
    .rows = MulSumToRows,
};

// ---- broadcast_to ---------------------------------------------------------
//   attrs.shape = target; NumPy rules (align at the right, 1-dims stretch, leading dims added)
//   y[i] = x[broadcast index of i]      dx = sum_to(dy, x.shape)
absl::StatusOr<TensorType> BroadcastToInfer(absl::Span<const TensorType> in,
                                            const Attrs& attrs) {
  TG_RETURN_IF_ERROR(RequireFloat(in[0], "input"));
  TG_RETURN_IF_ERROR(RequireRankAtMost(attrs.shape, "target"));
  // BroadcastShapes stretches a 1 to any size, a negative one too.
  for (int64_t d : attrs.shape.dims()) {
    if (d < 0) {
      return absl::InvalidArgumentError(
          fmt::format("target shape {} has a negative dimension", attrs.shape));
    }
  }
  absl::StatusOr<Shape> b = BroadcastShapes(in[0].shape, attrs.shape);
  if (!b.ok() || !(*b == attrs.shape)) {
    return absl::InvalidArgumentError(
        fmt::format("cannot broadcast {} to {}", in[0].shape, attrs.shape));
  }
  return TypeOf(in[0].dtype, attrs.shape);
}

template <class T>
absl::Status BroadcastToTyped(const KernelContext& ctx) {
  const T* xs = ctx.inputs[0].data<T>();
  T* out = ctx.output.data<T>();
  if (ctx.output.num_elements() == 0) return absl::OkStatus();
  const BroadcastRuns r = MakeRuns(ctx.inputs[0].shape(), ctx.output.shape());
  const int64_t n = r.size[r.count - 1];
  // Innermost dims kept: copy (or add) rows of x; broadcast: fill (or add) one value.
  const int64_t stride = r.small_stride[r.count - 1] != 0 ? 1 : 0;
  ForEachInnerRun(r, [&](int64_t b, int64_t s) {
    if (ctx.accumulate) {
      kernels::Binary(kernels::AddFn{}, out + b, 1, xs + s, stride, out + b, n, false);
    } else if (stride == 1) {
      std::copy_n(xs + s, n, out + b);
    } else {
      std::fill_n(out + b, n, xs[s]);
    }
  });
  return absl::OkStatus();
}

absl::Status BroadcastToKernel(const KernelContext& ctx) {
  return DispatchFloat(ctx.output.dtype(),
                       [&]<class T>(T) { return BroadcastToTyped<T>(ctx); });
}

void BroadcastToVjp(VjpContext& ctx) {
  if (!ctx.needs_grad(0)) return;
  ctx.AccumulateGrad(0, SumTo(ctx.grad_output(), ctx.input(0).shape()));
}

// x over the rows ([D] or [1, D] to [N, D]) or over the columns ([N, 1] to [N, D]): the two
// ways a fused run reads a broadcast operand.
bool BroadcastToFitsTiles(const Attrs& attrs, absl::Span<const TensorType> in) {
  const Shape& x = in[0].shape;
  const Shape& to = attrs.shape;
  if (to.rank() == 0 || x.rank() > to.rank()) return false;
  const int lead = to.rank() - x.rank();
  bool rows_kept = true, rows_one = true;
  for (int d = 0; d + 1 < to.rank(); ++d) {
    const int64_t xd = d >= lead ? x[d - lead] : 1;
    rows_kept &= xd == to[d];
    rows_one &= xd == 1;
  }
  const int64_t last = x.rank() > 0 ? x[x.rank() - 1] : 1;
  const bool cols_kept = last == to[to.rank() - 1], cols_one = last == 1;
  return (rows_kept || rows_one) && (cols_kept || cols_one);
}

// out (+)= x, x contiguous (stride 1) or one value repeated (stride 0): the kernel's bits.
template <class T>
void BroadcastTile(absl::Span<const T* const> in, absl::Span<const int64_t> strides, T* out,
                   int64_t n, const Attrs&, bool accumulate) {
  if (accumulate) {
    kernels::Binary(kernels::AddFn{}, out, 1, in[0], strides[0], out, n, false);
  } else if (strides[0] == 1) {
    std::copy_n(in[0], n, out);
  } else {
    std::fill_n(out, n, in[0][0]);
  }
}

const OpDef kBroadcastTo = {
    .name = "broadcast_to",
    .arity = 1,
    .infer = BroadcastToInfer,
    .forward = BroadcastToKernel,
    .vjp = BroadcastToVjp,
    .pointwise = {.f32 = BroadcastTile<float>, .f64 = BroadcastTile<double>,
                  .broadcasts = true, .applies = BroadcastToFitsTiles},
};

// A negative axis is normalised here when x's rank allows; otherwise it is passed on as
// given, so the shape rule reports the axis the caller wrote.
int64_t BuilderAxis(Expr x, int axis) {
  const int rank = x.shape().rank();
  return axis < 0 && axis >= -rank ? axis + rank : axis;
}

}  // namespace

Expr Sum(Expr x) { return Build(kSum, {x}); }

Expr Sum(Expr x, int axis, ReduceOptions options) {
  Attrs attrs;
  attrs.ints = {BuilderAxis(x, axis), options.keepdims ? 1 : 0};
  return Build(kSum, {x}, attrs);
}

Expr Mean(Expr x) {
  const int64_t count = x.shape().num_elements();
  return Scale(Sum(x), 1.0 / static_cast<double>(count));  // NaN when empty, as in NumPy
}

Expr Mean(Expr x, int axis, ReduceOptions options) {
  const int64_t a = BuilderAxis(x, axis);
  const Shape& s = x.shape();
  const int64_t dim = a >= 0 && a < s.rank() ? s[static_cast<int>(a)] : 1;
  return Scale(Sum(x, axis, options), 1.0 / static_cast<double>(dim));
}

Expr SumTo(Expr x, Shape shape) {
  Attrs attrs;
  attrs.shape = std::move(shape);
  return Build(kSumTo, {x}, attrs);
}

Expr MulSumTo(Expr a, Expr b, Shape shape) {
  Attrs attrs;
  attrs.shape = std::move(shape);
  return Build(kMulSumTo, {a, b}, attrs);
}

Expr BroadcastTo(Expr x, Shape shape) {
  Attrs attrs;
  attrs.shape = std::move(shape);
  return Build(kBroadcastTo, {x}, attrs);
}

std::vector<const OpDef*> ReduceOps() {
  return {&kSum, &kSumTo, &kMulSumTo, &kBroadcastTo};
}

}  // namespace tg
