// Pointwise ops: elementwise arithmetic (binary ops broadcast as NumPy does), activations,
// and the gradient helpers their VJPs are built from (mul_add, the one ternary op, is in
// mul_add.cc). The math of every kernel is a functor of ops/kernels/pointwise.h; the
// templates below run it over a node's tensors (forward) or over same-shape chunks a
// compiler hands in (tiles).
#include <algorithm>
#include <cstdint>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/inlined_vector.h"
#include "graph/vjp_context.h"
#include "ops/kernels/pointwise.h"
#include "ops/op_util.h"
#include "ops/ops.h"
#include "ops/pointwise_internal.h"
#include "ops/registry.h"

namespace tg {
namespace {

using ops::GradFor;
using ops::ProductGradFor;

// A functor for one node: scale and add_scalar carry their constant in attrs.scalar, every
// other functor is stateless.
template <class F>
F MakeFn(const Attrs& attrs) {
  if constexpr (requires { F{0.0}; }) {
    return F{attrs.scalar};
  } else {
    return F{};
  }
}

// ---- unary driver ----
template <class F>
absl::Status UnaryKernel(const KernelContext& ctx) {
  return ops::DispatchFloat(ctx.output.dtype(), [&](auto zero) {
    using T = decltype(zero);
    kernels::Unary(MakeFn<F>(ctx.attrs), ctx.inputs[0].data<T>(), ctx.output.data<T>(),
                   ctx.output.num_elements(), ctx.accumulate, ctx.options.num_threads);
    return absl::OkStatus();
  });
}
// A unary op's input has the output's shape: its stride is always 1.
template <class F, class T>
void UnaryTile(absl::Span<const T* const> in, absl::Span<const int64_t>, T* out, int64_t n,
               const Attrs& attrs, bool accumulate) {
  kernels::Unary(MakeFn<F>(attrs), in[0], out, n, accumulate);
}
template <class F>
constexpr PointwiseTiles UnaryTiles() {
  return {.f32 = UnaryTile<F, float>, .f64 = UnaryTile<F, double>};
}

// ---- binary driver, with NumPy broadcasting ----

// How a broadcast binary kernel walks its output: runs of `run` contiguous output elements.
// Within a run each operand is contiguous (inner stride 1) or one repeated value (stride 0);
// between runs its start moves by its strides over the outer axes (0 on a broadcast axis).
struct BroadcastPlan {
  int64_t run = 1;
  int64_t inner[2] = {1, 1};
  absl::InlinedVector<int64_t, 6> dims;        // outer output axes of size > 1
  absl::InlinedVector<int64_t, 6> strides[2];  // per operand, one per outer axis
};

BroadcastPlan PlanBroadcast(const Shape& out, const Shape& a, const Shape& b) {
  const int rank = out.rank();
  const Shape* in[2] = {&a, &b};
  // Operand k's size on output axis i (shapes align at the right; missing axes are 1).
  auto dim = [&](int k, int i) -> int64_t {
    const int j = i - (rank - in[k]->rank());
    return j >= 0 ? (*in[k])[j] : 1;
  };
  BroadcastPlan plan;
  // Fold trailing axes into one run while each operand keeps one pattern (full on all of them,
  // or size 1 on all of them): [3,4]+[4] runs over 4, scalar+[5] over 5, [N,H]*[N,1] over H.
  bool full[2] = {true, true};
  bool pattern_set = false;
  int axis = rank;
  for (; axis > 0; --axis) {
    const int64_t d = out[axis - 1];
    if (d == 1) continue;  // fits either pattern
    const bool f0 = dim(0, axis - 1) == d, f1 = dim(1, axis - 1) == d;
    if (pattern_set && (f0 != full[0] || f1 != full[1])) break;
    full[0] = f0, full[1] = f1, pattern_set = true;
    plan.run *= d;
  }
  // Outer axes of size 1 need no step; the others step each operand by its row-major stride,
  // or by 0 where the operand has size 1 (broadcast). No heap use up to rank 6.
  for (int i = 0; i < axis; ++i) {
    if (out[i] != 1) plan.dims.push_back(out[i]);
  }
  for (int k = 0; k < 2; ++k) {
    plan.inner[k] = full[k] ? 1 : 0;
    absl::InlinedVector<int64_t, 6> stride(rank + 1, 1);
    for (int i = rank - 1; i >= 0; --i) stride[i] = stride[i + 1] * dim(k, i);
    for (int i = 0; i < axis; ++i) {
      if (out[i] != 1) plan.strides[k].push_back(dim(k, i) == 1 ? 0 : stride[i + 1]);
    }
  }
  return plan;
}

// out[begin, end) (+)= f(a, b): the runs, or pieces of runs, that cover that range of the
// output; the outer axes advance like an odometer, started at run begin / plan.run.
template <class T, class F>
void BroadcastBinary(F f, const T* a, const T* b, T* out, const BroadcastPlan& plan,
                     bool accumulate, int64_t begin, int64_t end) {
  const int outer_rank = static_cast<int>(plan.dims.size());
  absl::InlinedVector<int64_t, 6> index(outer_rank, 0);
  int64_t off[2] = {0, 0};
  for (int64_t r = begin / plan.run, i = outer_rank - 1; i >= 0; --i) {
    index[i] = r % plan.dims[i];
    r /= plan.dims[i];
    for (int k = 0; k < 2; ++k) off[k] += index[i] * plan.strides[k][i];
  }
  int64_t within = begin % plan.run;  // the first piece starts inside its run
  for (int64_t pos = begin; pos < end;) {
    const int64_t len = std::min(plan.run - within, end - pos);
    kernels::Binary(f, a + off[0] + within * plan.inner[0], plan.inner[0],
                    b + off[1] + within * plan.inner[1], plan.inner[1], out + pos, len,
                    accumulate);
    pos += len;
    within = 0;
    for (int i = outer_rank - 1; i >= 0; --i) {
      for (int k = 0; k < 2; ++k) off[k] += plan.strides[k][i];
      if (++index[i] < plan.dims[i]) break;
      for (int k = 0; k < 2; ++k) off[k] -= plan.strides[k][i] * plan.dims[i];
      index[i] = 0;
    }
  }
}

template <class F>
absl::Status BinaryKernel(const KernelContext& ctx) {
  return ops::DispatchFloat(ctx.output.dtype(), [&](auto zero) {
    using T = decltype(zero);
    const Tensor& a = ctx.inputs[0];
    const Tensor& b = ctx.inputs[1];
    const F f = MakeFn<F>(ctx.attrs);
    const int64_t n = ctx.output.num_elements();
    const int threads = ctx.options.num_threads;
    T* out = ctx.output.data<T>();
    if (a.shape() == b.shape()) {  // the common case: one pass over everything
      kernels::Binary(f, a.data<T>(), 1, b.data<T>(), 1, out, n, ctx.accumulate, threads);
    } else if (n > 0) {
      const BroadcastPlan plan = PlanBroadcast(ctx.output.shape(), a.shape(), b.shape());
      kernels::ParallelRanges<T>(
          n, threads,
          [&](int64_t begin, int64_t end) {
            BroadcastBinary(f, a.data<T>(), b.data<T>(), out, plan, ctx.accumulate, begin, end);
          },
          plan.run);
    }
    return absl::OkStatus();
  });
}
template <class F, class T>
void BinaryTile(absl::Span<const T* const> in, absl::Span<const int64_t> strides, T* out,
                int64_t n, const Attrs& attrs, bool accumulate) {
  kernels::Binary(MakeFn<F>(attrs), in[0], strides[0], in[1], strides[1], out, n, accumulate);
}
// broadcasts: the op's shape rule broadcasts its operands (add, sub, mul, div).
template <class F>
constexpr PointwiseTiles BinaryTiles(bool broadcasts) {
  return {.f32 = BinaryTile<F, float>, .f64 = BinaryTile<F, double>, .broadcasts = broadcasts};
}

// Shape rule of add/sub/mul/div: float operands of one dtype, NumPy-broadcast shapes.
absl::StatusOr<TensorType> BroadcastFloatPair(absl::Span<const TensorType> in, const Attrs&) {
  if (absl::Status s = ops::RequireFloat(in[0], "input 0"); !s.ok()) return s;
  if (absl::Status s = ops::RequireSameDType(in[0], in[1]); !s.ok()) return s;
  absl::StatusOr<Shape> shape = ops::BroadcastShapes(in[0].shape, in[1].shape);
  if (!shape.ok()) return shape.status();
  return TensorType{in[0].dtype, *std::move(shape)};
}

// The OpDef of a pointwise op whose math is the functor F: kernel, tiles (which the compiler
// fuses) and row facts all follow from F, so every pointwise op declares them alike. A unary
// op keeps its input's type.
template <class F>
constexpr OpDef UnaryPointwiseOp(std::string_view name, VjpFn vjp) {
  return {.name = name, .arity = 1, .infer = ops::SameAsFloatInput, .forward = UnaryKernel<F>,
          .vjp = vjp, .pointwise = UnaryTiles<F>(), .rows = ops::PointwiseRowFacts};
}

// A binary pointwise op: `infer` broadcasts (add, sub, mul, div) or wants one shape (the
// *_grad ops); bit i of `no_grad_inputs` marks input i as having no gradient.
template <class F>
constexpr OpDef BinaryPointwiseOp(std::string_view name, InferFn infer, VjpFn vjp,
                                  uint32_t no_grad_inputs = 0) {
  return {.name = name, .arity = 2, .infer = infer, .forward = BinaryKernel<F>, .vjp = vjp,
          .no_grad_inputs = no_grad_inputs,
          .pointwise = BinaryTiles<F>(infer == BroadcastFloatPair),
          .rows = ops::PointwiseRowFacts};
}

}  // namespace

namespace ops {

// The gradient helpers of pointwise_internal.h.
Expr GradFor(const VjpContext& ctx, int i, Expr g) {
  Expr x = ctx.input(i);
  return g.shape() == x.shape() ? g : SumTo(g, x.shape());
}

Expr ProductGradFor(const VjpContext& ctx, int i, Expr dy, Expr other) {
  Expr x = ctx.input(i);
  const Shape& s = x.shape();
  const Shape& full = dy.shape();
  const bool row = full.rank() == 2 && other.shape() == full &&
                   ((s.rank() == 1 && s[0] == full[1]) ||
                    (s.rank() == 2 && s[0] == 1 && s[1] == full[1] && full[0] != 1));
  return row ? MulSumTo(dy, other, s) : GradFor(ctx, i, dy * other);
}

}  // namespace ops

// ---- add -----------------------------------------------------------------
//   y = a + b          da = SumTo(dy, a.shape)     db = SumTo(dy, b.shape)
static void AddVjp(VjpContext& ctx) {
  if (ctx.needs_grad(0)) ctx.AccumulateGrad(0, GradFor(ctx, 0, ctx.grad_output()));
  if (ctx.needs_grad(1)) ctx.AccumulateGrad(1, GradFor(ctx, 1, ctx.grad_output()));
}
constexpr OpDef kAdd = BinaryPointwiseOp<kernels::AddFn>("add", BroadcastFloatPair, AddVjp);
Expr Add(Expr a, Expr b) { return ops::Build(kAdd, {a, b}); }

// ---- sub -----------------------------------------------------------------
//   y = a - b          da = SumTo(dy)              db = SumTo(-dy)
static void SubVjp(VjpContext& ctx) {
  if (ctx.needs_grad(0)) ctx.AccumulateGrad(0, GradFor(ctx, 0, ctx.grad_output()));
  if (ctx.needs_grad(1)) ctx.AccumulateGrad(1, GradFor(ctx, 1, Neg(ctx.grad_output())));
}
constexpr OpDef kSub = BinaryPointwiseOp<kernels::SubFn>("sub", BroadcastFloatPair, SubVjp);
Expr Sub(Expr a, Expr b) { return ops::Build(kSub, {a, b}); }

// ---- mul -----------------------------------------------------------------
//   y = a * b          da = SumTo(dy * b)          db = SumTo(dy * a)
static void MulVjp(VjpContext& ctx) {
  Expr dy = ctx.grad_output();
  if (ctx.needs_grad(0)) ctx.AccumulateGrad(0, ProductGradFor(ctx, 0, dy, ctx.input(1)));
  if (ctx.needs_grad(1)) ctx.AccumulateGrad(1, ProductGradFor(ctx, 1, dy, ctx.input(0)));
}
constexpr OpDef kMul = BinaryPointwiseOp<kernels::MulFn>("mul", BroadcastFloatPair, MulVjp);
Expr Mul(Expr a, Expr b) { return ops::Build(kMul, {a, b}); }

// ---- div -----------------------------------------------------------------
//   y = a / b          da = SumTo(dy / b)          db = SumTo(-dy * y / b)   (y, not a/b^2)
static void DivVjp(VjpContext& ctx) {
  Expr dy = ctx.grad_output(), b = ctx.input(1);
  if (ctx.needs_grad(0)) ctx.AccumulateGrad(0, GradFor(ctx, 0, dy / b));
  if (ctx.needs_grad(1)) ctx.AccumulateGrad(1, GradFor(ctx, 1, Neg(dy * ctx.output() / b)));
}
constexpr OpDef kDiv = BinaryPointwiseOp<kernels::DivFn>("div", BroadcastFloatPair, DivVjp);
Expr Div(Expr a, Expr b) { return ops::Build(kDiv, {a, b}); }

// ---- neg -----------------------------------------------------------------
//   y = -x             dx = -dy
static void NegVjp(VjpContext& ctx) {
  if (ctx.needs_grad(0)) ctx.AccumulateGrad(0, Neg(ctx.grad_output()));
}
constexpr OpDef kNeg = UnaryPointwiseOp<kernels::NegFn>("neg", NegVjp);
Expr Neg(Expr x) { return ops::Build(kNeg, {x}); }

// ---- scale (attrs.scalar = c) --------------------------------------------
//   y = c * x          dx = c * dy
static void ScaleVjp(VjpContext& ctx) {
  if (ctx.needs_grad(0)) ctx.AccumulateGrad(0, Scale(ctx.grad_output(), ctx.attrs().scalar));
}
constexpr OpDef kScale = UnaryPointwiseOp<kernels::ScaleFn>("scale", ScaleVjp);
Expr Scale(Expr x, double c) { return ops::Build(kScale, {x}, ops::ScalarAttrs(c)); }

// ---- add_scalar (attrs.scalar = c) ---------------------------------------
//   y = x + c          dx = dy
static void AddScalarVjp(VjpContext& ctx) {
  if (ctx.needs_grad(0)) ctx.AccumulateGrad(0, ctx.grad_output());
}
constexpr OpDef kAddScalar = UnaryPointwiseOp<kernels::AddScalarFn>("add_scalar", AddScalarVjp);
Expr AddScalar(Expr x, double c) { return ops::Build(kAddScalar, {x}, ops::ScalarAttrs(c)); }

// ---- sigmoid -------------------------------------------------------------
//   y = 1 / (1 + e^-x) dx = dy * y * (1 - y)       (uses y, so x can be freed early)
static void SigmoidVjp(VjpContext& ctx) {
  if (ctx.needs_grad(0)) ctx.AccumulateGrad(0, SigmoidGrad(ctx.output(), ctx.grad_output()));
}
constexpr OpDef kSigmoid = UnaryPointwiseOp<kernels::SigmoidFn>("sigmoid", SigmoidVjp);
Expr Sigmoid(Expr x) { return ops::Build(kSigmoid, {x}); }

// ---- tanh ----------------------------------------------------------------
//   y = tanh(x)        dx = dy * (1 - y^2)         (uses y, so x can be freed early)
static void TanhVjp(VjpContext& ctx) {
  if (ctx.needs_grad(0)) ctx.AccumulateGrad(0, TanhGrad(ctx.output(), ctx.grad_output()));
}
constexpr OpDef kTanh = UnaryPointwiseOp<kernels::TanhFn>("tanh", TanhVjp);
Expr Tanh(Expr x) { return ops::Build(kTanh, {x}); }

// ---- relu ----------------------------------------------------------------
//   y = max(x, 0)      dx = x > 0 ? dy : 0         (NaN stays NaN in y)
static void ReluVjp(VjpContext& ctx) {
  if (ctx.needs_grad(0)) ctx.AccumulateGrad(0, ReluGrad(ctx.input(0), ctx.grad_output()));
}
constexpr OpDef kRelu = UnaryPointwiseOp<kernels::ReluFn>("relu", ReluVjp);
Expr Relu(Expr x) { return ops::Build(kRelu, {x}); }

// ---- exp -----------------------------------------------------------------
//   y = e^x            dx = dy * y
static void ExpVjp(VjpContext& ctx) {
  if (ctx.needs_grad(0)) ctx.AccumulateGrad(0, ctx.grad_output() * ctx.output());
}
constexpr OpDef kExp = UnaryPointwiseOp<kernels::ExpFn>("exp", ExpVjp);
Expr Exp(Expr x) { return ops::Build(kExp, {x}); }

// ---- log -----------------------------------------------------------------
//   y = ln x           dx = dy / x
static void LogVjp(VjpContext& ctx) {
  if (ctx.needs_grad(0)) ctx.AccumulateGrad(0, ctx.grad_output() / ctx.input(0));
}
constexpr OpDef kLog = UnaryPointwiseOp<kernels::LogFn>("log", LogVjp);
Expr Log(Expr x) { return ops::Build(kLog, {x}); }

// ---- sqrt ----------------------------------------------------------------
//   y = sqrt(x)        dx = 0.5 * dy / y
static void SqrtVjp(VjpContext& ctx) {
  if (ctx.needs_grad(0)) ctx.AccumulateGrad(0, Scale(ctx.grad_output() / ctx.output(), 0.5));
}
constexpr OpDef kSqrt = UnaryPointwiseOp<kernels::SqrtFn>("sqrt", SqrtVjp);
Expr Sqrt(Expr x) { return ops::Build(kSqrt, {x}); }

// ---- square --------------------------------------------------------------
//   y = x^2            dx = 2 * dy * x
static void SquareVjp(VjpContext& ctx) {
  if (ctx.needs_grad(0)) ctx.AccumulateGrad(0, Scale(ctx.grad_output() * ctx.input(0), 2));
}
constexpr OpDef kSquare = UnaryPointwiseOp<kernels::SquareFn>("square", SquareVjp);
Expr Square(Expr x) { return ops::Build(kSquare, {x}); }

// ---- copy ----------------------------------------------------------------
//   y = x (a fresh buffer)     dx = dy
static void CopyVjp(VjpContext& ctx) {
  if (ctx.needs_grad(0)) ctx.AccumulateGrad(0, ctx.grad_output());
}
constexpr OpDef kCopy = UnaryPointwiseOp<kernels::CopyFn>("copy", CopyVjp);
Expr Copy(Expr x) { return ops::Build(kCopy, {x}); }

// ---- tanh_grad -----------------------------------------------------------
//   z = dy * (1 - y^2)   with incoming g:   d_dy = g * (1 - y^2)   d_y = -2 * g * dy * y
static void TanhGradVjp(VjpContext& ctx) {
  Expr y = ctx.input(0), dy = ctx.input(1), g = ctx.grad_output();
  if (ctx.needs_grad(0)) ctx.AccumulateGrad(0, Scale(g * dy * y, -2));
  if (ctx.needs_grad(1)) ctx.AccumulateGrad(1, TanhGrad(y, g));
}
constexpr OpDef kTanhGrad =
    BinaryPointwiseOp<kernels::TanhGradFn>("tanh_grad", ops::SameShapeFloatPair, TanhGradVjp);
Expr TanhGrad(Expr y, Expr dy) { return ops::Build(kTanhGrad, {y, dy}); }

// ---- sigmoid_grad --------------------------------------------------------
//   z = dy * y * (1 - y)   with incoming g:   d_dy = g * y * (1 - y)   d_y = g * dy * (1 - 2y)
static void SigmoidGradVjp(VjpContext& ctx) {
  Expr y = ctx.input(0), dy = ctx.input(1), g = ctx.grad_output();
  if (ctx.needs_grad(0)) ctx.AccumulateGrad(0, g * dy * AddScalar(Scale(y, -2), 1));
  if (ctx.needs_grad(1)) ctx.AccumulateGrad(1, SigmoidGrad(y, g));
}
constexpr OpDef kSigmoidGrad = BinaryPointwiseOp<kernels::SigmoidGradFn>(
    "sigmoid_grad", ops::SameShapeFloatPair, SigmoidGradVjp);
Expr SigmoidGrad(Expr y, Expr dy) { return ops::Build(kSigmoidGrad, {y, dy}); }

// ---- relu_grad -----------------------------------------------------------
//   z = x > 0 ? dy : 0   with incoming g:   d_dy = x > 0 ? g : 0   (x is a mask: no gradient)
static void ReluGradVjp(VjpContext& ctx) {
  if (ctx.needs_grad(1)) ctx.AccumulateGrad(1, ReluGrad(ctx.input(0), ctx.grad_output()));
}
constexpr OpDef kReluGrad = BinaryPointwiseOp<kernels::ReluGradFn>(
    "relu_grad", ops::SameShapeFloatPair, ReluGradVjp, /*no_grad_inputs=*/1u << 0);
Expr ReluGrad(Expr x, Expr dy) { return ops::Build(kReluGrad, {x, dy}); }

// ---- operators: each is one of the ops above ----
Expr operator+(Expr a, Expr b) { return Add(a, b); }
Expr operator-(Expr a, Expr b) { return Sub(a, b); }
Expr operator*(Expr a, Expr b) { return Mul(a, b); }
Expr operator/(Expr a, Expr b) { return Div(a, b); }
Expr operator-(Expr x) { return Neg(x); }
Expr operator+(Expr x, double c) { return AddScalar(x, c); }
Expr operator+(double c, Expr x) { return AddScalar(x, c); }
Expr operator-(Expr x, double c) { return AddScalar(x, -c); }
Expr operator-(double c, Expr x) { return AddScalar(Neg(x), c); }
Expr operator*(Expr x, double c) { return Scale(x, c); }
Expr operator*(double c, Expr x) { return Scale(x, c); }
Expr operator/(Expr x, double c) { return Scale(x, 1.0 / c); }

std::vector<const OpDef*> PointwiseOps() {
  return {&kAdd,  &kSub,  &kMul,  &kDiv,  &kNeg,    &kScale, &kAddScalar, &kSigmoid,  &kTanh,
          &kRelu, &kExp,  &kLog,  &kSqrt, &kSquare, &kCopy,  &kTanhGrad,  &kSigmoidGrad,
          &kReluGrad, &ops::kMulAdd};
}

}  // namespace tg
