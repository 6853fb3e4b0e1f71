// Shape ops: reshape, transpose, slice, slice_grad, concat, and the Split builders. They move
// data without arithmetic, so they take every dtype (i32 too) and use plain loops and memcpy;
// where the output is a dense piece of input 0 they declare a view and copy nothing.
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_join.h"
#include "fmt/format.h"
#include "graph/graph.h"
#include "graph/op_def.h"
#include "base/status_macros.h"
#include "graph/vjp_context.h"
#include "ops/op_util.h"
#include "ops/ops.h"
#include "ops/registry.h"

namespace tg {
namespace {

using ops::Build;

// Calls body(T{}) with the element type of `dtype`: data movement suits every dtype.
template <class Body>
absl::Status DispatchAll(DType dtype, Body&& body) {
  switch (dtype) {
    case DType::kF32: return body(float{});
    case DType::kF64: return body(double{});
    case DType::kI32: return body(int32_t{});
  }
  return absl::InternalError("unknown dtype");
}

using ops::CopyOrAdd;

// An attribute axis (ints[0]) the builder normally normalised; kernels, VJPs and row facts
// read it after the shape rule accepted it.
int AttrAxis(const Attrs& attrs, int rank) {
  const int64_t a = attrs.Int(0);
  return static_cast<int>(a < 0 ? a + rank : a);
}
// The shape rules' check of the same axis, naming the shape.
absl::StatusOr<int> CheckedAxis(const Attrs& attrs, const Shape& s) {
  const int64_t a = attrs.Int(0);
  if (a < -s.rank() || a >= s.rank()) {
    return absl::InvalidArgumentError(fmt::format("axis {} is out of range for {}", a, s));
  }
  return AttrAxis(attrs, s.rank());
}
// A negative builder axis, normalised when x's rank allows (else the shape rule reports it).
int BuilderAxis(int axis, int rank) { return axis < 0 && axis >= -rank ? axis + rank : axis; }

// Leading axes [0, axis), the axis itself, trailing axes: how a row-major tensor is cut.
struct AxisSplit {
  int64_t outer, dim, inner;
};
AxisSplit SplitAt(const Shape& s, int axis) {
  return {s.Product(0, axis), s[axis], s.Product(axis + 1, s.rank())};
}

// Cutting or padding a non-leading axis keeps rows: output row r comes from input row r.
RowFacts RowsIfNotAxis0(const Attrs& attrs, absl::Span<const TensorType> in, int rank) {
  if (rank < 2 || AttrAxis(attrs, rank) == 0) return {};
  return ops::RowsFromOperand0(attrs, in);
}

absl::Status CopyKernel(const KernelContext& ctx) {
  const Tensor& x = ctx.inputs[0];
  return DispatchAll(x.dtype(), [&]<class T>(T) {
    CopyOrAdd(x.data<T>(), ctx.output.data<T>(), x.num_elements(), ctx.accumulate);
    return absl::OkStatus();
  });
}

std::optional<int64_t> ViewAtStart(const Attrs&, absl::Span<const TensorType>) { return 0; }

}  // namespace

// ---- reshape ----------------------------------------------------------------------------
//   y = x read with dims attrs.shape (same elements, same row-major order)
//   dx = reshape(dy, x.shape)
// Always a view at offset 0; the copy kernel serves a compiler that wants a fresh buffer.
static absl::StatusOr<TensorType> ReshapeInfer(absl::Span<const TensorType> in,
                                               const Attrs& attrs) {
  const Shape& to = attrs.shape;
  for (int64_t d : to.dims()) {
    if (d < 0) {
      return absl::InvalidArgumentError(
          fmt::format("target shape {} has a negative dimension", to));
    }
  }
  if (to.num_elements() != in[0].shape.num_elements()) {
    return absl::InvalidArgumentError(
        fmt::format("cannot reshape {} ({} elements) to {} ({} elements)", in[0].shape,
                    in[0].shape.num_elements(), to, to.num_elements()));
  }
  return TensorType{in[0].dtype, to};
}
static void ReshapeVjp(VjpContext& ctx) {
  if (ctx.needs_grad(0)) ctx.AccumulateGrad(0, Reshape(ctx.grad_output(), ctx.input(0).shape()));
}
const OpDef kReshape = {.name = "reshape", .arity = 1, .infer = ReshapeInfer,
                        .forward = CopyKernel, .vjp = ReshapeVjp, .view = ViewAtStart};
Expr Reshape(Expr x, Shape shape) {
  Attrs attrs;
  attrs.shape = std::move(shape);
  return Build(kReshape, {x}, attrs);
}

// ---- transpose --------------------------------------------------------------------------
//   y[j,i] = x[i,j] (2-D)        dx = transpose(dy)
static absl::StatusOr<TensorType> TransposeInfer(absl::Span<const TensorType> in, const Attrs&) {
  const Shape& s = in[0].shape;
  if (s.rank() != 2) return absl::InvalidArgumentError(fmt::format("input must be 2-D, got {}", s));
  return TensorType{in[0].dtype, Shape{s[1], s[0]}};
}
static absl::Status TransposeKernel(const KernelContext& ctx) {
  const Tensor& x = ctx.inputs[0];
  const int64_t rows = x.shape()[0], cols = x.shape()[1];
  // 32x32 tiles: the strided side of the copy stays within a few L1 lines per tile.
  constexpr int64_t kBlock = 32;
  return DispatchAll(x.dtype(), [&]<class T>(T) {
    const T* in = x.data<T>();
    T* out = ctx.output.data<T>();
    for (int64_t r0 = 0; r0 < rows; r0 += kBlock) {
      const int64_t r1 = std::min(r0 + kBlock, rows);
      for (int64_t c0 = 0; c0 < cols; c0 += kBlock) {
        const int64_t c1 = std::min(c0 + kBlock, cols);
        for (int64_t c = c0; c < c1; ++c) {
          T* o = out + c * rows;
          for (int64_t r = r0; r < r1; ++r) {
            o[r] = ctx.accumulate ? o[r] + in[r * cols + c] : in[r * cols + c];
          }
        }
      }
    }
    return absl::OkStatus();
  });
}
static void TransposeVjp(VjpContext& ctx) {
  if (ctx.needs_grad(0)) ctx.AccumulateGrad(0, Transpose(ctx.grad_output()));
}
const OpDef kTranspose = {.name = "transpose", .arity = 1, .infer = TransposeInfer,
                          .forward = TransposeKernel, .vjp = TransposeVjp};
Expr Transpose(Expr x) { return Build(kTranspose, {x}); }

// ---- slice ------------------------------------------------------------------------------
//   y = x[..., begin:end, ...] along axis; attrs.ints = {axis, begin, end}
//   dx = slice_grad(dy, x.shape, axis, begin)   (zeros with dy at the range)
// A view when the range is contiguous in memory (nothing before the axis, or the whole axis).
static absl::StatusOr<TensorType> SliceInfer(absl::Span<const TensorType> in,
                                             const Attrs& attrs) {
  const Shape& s = in[0].shape;
  TG_ASSIGN_OR_RETURN(const int a, CheckedAxis(attrs, s));
  const int64_t begin = attrs.Int(1), end = attrs.Int(2);
  if (begin < 0 || begin > end || end > s[a]) {
    return absl::InvalidArgumentError(fmt::format(
        "range [{}, {}) is out of bounds for axis {} of {} (length {})", begin, end, a, s, s[a]));
  }
  Shape out = s;
  out[a] = end - begin;
  return TensorType{in[0].dtype, out};
}
static std::optional<int64_t> SliceView(const Attrs& attrs, absl::Span<const TensorType> in) {
  const AxisSplit p = SplitAt(in[0].shape, AttrAxis(attrs, in[0].shape.rank()));
  const int64_t begin = attrs.Int(1), end = attrs.Int(2);
  if (p.outer == 1 || (begin == 0 && end == p.dim)) return begin * p.inner;
  return std::nullopt;
}
// The strided case: one block of (end - begin) * inner elements per leading index.
static absl::Status SliceKernel(const KernelContext& ctx) {
  const Tensor& x = ctx.inputs[0];
  const AxisSplit p = SplitAt(x.shape(), AttrAxis(ctx.attrs, x.shape().rank()));
  const int64_t begin = ctx.attrs.Int(1), n = (ctx.attrs.Int(2) - begin) * p.inner;
  // An empty x has no storage: offsetting its null data pointer would be undefined.
  if (p.outer == 0 || n == 0) return absl::OkStatus();
  return DispatchAll(x.dtype(), [&]<class T>(T) {
    const T* in = x.data<T>() + begin * p.inner;
    T* out = ctx.output.data<T>();
    for (int64_t o = 0; o < p.outer; ++o) {
      CopyOrAdd(in + o * p.dim * p.inner, out + o * n, n, ctx.accumulate);
    }
    return absl::OkStatus();
  });
}
static void SliceVjp(VjpContext& ctx) {
  if (!ctx.needs_grad(0)) return;
  const Expr x = ctx.input(0);
  const int axis = AttrAxis(ctx.attrs(), x.shape().rank());
  ctx.AccumulateGrad(0, SliceGrad(ctx.grad_output(), x.shape(), axis, ctx.attrs().Int(1)));
}
static RowFacts SliceRows(const Attrs& attrs, absl::Span<const TensorType> in) {
  return RowsIfNotAxis0(attrs, in, in[0].shape.rank());
}
// A slice of the last axis of a matrix (or higher) is a block of columns of x.
static std::optional<ColumnBlock> SliceColumns(const Attrs& attrs,
                                               absl::Span<const TensorType> in) {
  const Shape& s = in[0].shape;
  if (s.rank() < 2 || AttrAxis(attrs, s.rank()) != s.rank() - 1) return std::nullopt;
  return ColumnBlock{.offset = attrs.Int(1), .row_stride = s[s.rank() - 1]};
}
static bool SliceIsColumns(const Attrs& attrs, absl::Span<const TensorType> in) {
  return SliceColumns(attrs, in).has_value();
}
// Copies (or adds) n elements: a fused run's column slice, the bits of CopyOrAdd.
template <class T>
void CopyTile(absl::Span<const T* const> in, absl::Span<const int64_t>, T* out, int64_t n,
              const Attrs&, bool accumulate) {
  CopyOrAdd(in[0], out, n, accumulate);
}
const OpDef kSlice = {.name = "slice", .arity = 1, .infer = SliceInfer, .forward = SliceKernel,
                      .vjp = SliceVjp,
                      .pointwise = {.f32 = CopyTile<float>, .f64 = CopyTile<double>,
                                    .applies = SliceIsColumns},
                      .rows = SliceRows, .view = SliceView, .column_view = SliceColumns};
Expr Slice(Expr x, int axis, int64_t begin, int64_t end) {
  Attrs attrs;
  attrs.ints = {BuilderAxis(axis, x.shape().rank()), begin, end};
  return Build(kSlice, {x}, attrs);
}

// ---- slice_grad -------------------------------------------------------------------------
//   y = zeros(attrs.shape); y[..., begin:begin+len, ...] = dy   (len = dy.dim(axis))
//   attrs.ints = {axis, begin}, attrs.shape = the sliced input's shape
//   ddy = slice(g, axis, begin, begin + len)
// With accumulate it adds into the range only: a step's gradient touches its step, not all T.
static absl::StatusOr<TensorType> SliceGradInfer(absl::Span<const TensorType> in,
                                                 const Attrs& attrs) {
  const Shape& dy = in[0].shape;
  const Shape& s = attrs.shape;
  TG_ASSIGN_OR_RETURN(const int a, CheckedAxis(attrs, s));
  const int64_t begin = attrs.Int(1);
  // begin <= s[a] - dy[a], not begin + dy[a] <= s[a]: begin is an attribute, and any
  // int64 may come in (the sum would overflow).
  bool fits = dy.rank() == s.rank() && begin >= 0 && s[a] >= dy[a] && begin <= s[a] - dy[a];
  for (int d = 0; fits && d < s.rank(); ++d) fits = d == a || dy[d] == s[d];
  if (!fits) {
    return absl::InvalidArgumentError(
        fmt::format("dy {} does not fit into {} at offset {} along axis {}", dy, s, begin, a));
  }
  return TensorType{in[0].dtype, s};
}
static absl::Status SliceGradKernel(const KernelContext& ctx) {
  const Tensor& dy = ctx.inputs[0];
  const int axis = AttrAxis(ctx.attrs, ctx.output.shape().rank());
  const AxisSplit p = SplitAt(ctx.output.shape(), axis);
  const int64_t begin = ctx.attrs.Int(1), n = dy.shape()[axis] * p.inner;
  return DispatchAll(dy.dtype(), [&]<class T>(T) {
    const T* in = dy.data<T>();
    const int64_t before = begin * p.inner, after = p.dim * p.inner - before - n;
    for (int64_t o = 0; o < p.outer; ++o) {
      T* out = ctx.output.data<T>() + o * p.dim * p.inner;
      // Without accumulate, zeros around the range (not under it: it is written next).
      if (!ctx.accumulate) std::fill_n(out, before, T(0));
      CopyOrAdd(in + o * n, out + before, n, ctx.accumulate);
      if (!ctx.accumulate) std::fill_n(out + before + n, after, T(0));
    }
    return absl::OkStatus();
  });
}
static void SliceGradVjp(VjpContext& ctx) {
  if (!ctx.needs_grad(0)) return;
  const int axis = AttrAxis(ctx.attrs(), ctx.attrs().shape.rank());
  const int64_t begin = ctx.attrs().Int(1), len = ctx.input(0).shape()[axis];
  ctx.AccumulateGrad(0, Slice(ctx.grad_output(), axis, begin, begin + len));
}
static RowFacts SliceGradRows(const Attrs& attrs, absl::Span<const TensorType> in) {
  return RowsIfNotAxis0(attrs, in, attrs.shape.rank());
}
// The gradient of a column slice writes a block of columns of its output.
static std::optional<ColumnBlock> SliceGradColumns(const Attrs& attrs,
                                                   absl::Span<const TensorType>) {
  const Shape& s = attrs.shape;
  if (s.rank() < 2 || AttrAxis(attrs, s.rank()) != s.rank() - 1) return std::nullopt;
  return ColumnBlock{.offset = attrs.Int(1), .row_stride = s[s.rank() - 1]};
}
static bool SliceGradIsColumns(const Attrs& attrs, absl::Span<const TensorType> in) {
  return SliceGradColumns(attrs, in).has_value();
}
const OpDef kSliceGrad = {.name = "slice_grad", .arity = 1, .infer = SliceGradInfer,
                          .forward = SliceGradKernel, .vjp = SliceGradVjp,
                          .pointwise = {.f32 = CopyTile<float>, .f64 = CopyTile<double>,
                                        .applies = SliceGradIsColumns},
                          .rows = SliceGradRows, .column_scatter = SliceGradColumns};
Expr SliceGrad(Expr dy, Shape input_shape, int axis, int64_t begin) {
  Attrs attrs;
  attrs.ints = {BuilderAxis(axis, input_shape.rank()), begin};
  attrs.shape = std::move(input_shape);
  return Build(kSliceGrad, {dy}, attrs);
}

// ---- split (builders only) --------------------------------------------------------------
// Split is a sequence of Slice nodes (views when cutting axis 0). A bad split is reported by
// recording this check op, whose shape rule always fails: the error then names "split",
// x's shape and the scope path as any op's error does, and every piece handed back is
// poisoned. attrs.ints = {axis, kByParts, parts} or {axis, kBySizes, sizes...}.
constexpr int64_t kBySizes = 0, kByParts = 1;

static absl::Status ValidateSplit(const Shape& s, const Attrs& attrs) {
  TG_ASSIGN_OR_RETURN(const int a, CheckedAxis(attrs, s));
  if (attrs.Int(1) == kByParts) {
    const int64_t parts = attrs.Int(2);
    if (parts > 0 && s[a] % parts == 0) return absl::OkStatus();
    return absl::InvalidArgumentError(
        fmt::format("{} parts do not divide axis {} of {} (length {})", parts, a, s, s[a]));
  }
  const auto sizes = absl::MakeConstSpan(attrs.ints).subspan(2);
  int64_t total = 0;
  bool negative = false;
  for (int64_t n : sizes) {
    total += n;
    negative |= n < 0;
  }
  if (!negative && total == s[a]) return absl::OkStatus();
  return absl::InvalidArgumentError(
      fmt::format("sizes [{}] do not add up to axis {} of {} (length {})",
                  absl::StrJoin(sizes, ","), a, s, s[a]));
}
static absl::StatusOr<TensorType> SplitCheckInfer(absl::Span<const TensorType> in,
                                                  const Attrs& attrs) {
  TG_RETURN_IF_ERROR(ValidateSplit(in[0].shape, attrs));
  return absl::InternalError("the split check op was built for a valid split");
}
// Not a registered op: it exists only to fail (no kernel ever runs).
const OpDef kSplitCheck = {.name = "split", .arity = 1, .infer = SplitCheckInfer};

// The pieces `attrs` asks for, or `count` poisoned handles if x or the split is bad.
// Writes the pieces into `out` (one per piece), so Split<N> needs no heap vector.
static void SplitPieces(Expr x, const Attrs& attrs, absl::Span<Expr> out) {
  Graph* g = x.graph();
  if (g == nullptr) return;
  absl::StatusOr<const Node*> node = g->Lookup(x);
  if (!node.ok() || (*node)->poisoned || !ValidateSplit(x.shape(), attrs).ok()) {
    Expr failed = Build(kSplitCheck, {x}, attrs);
    for (Expr& e : out) e = failed;
    return;
  }
  const Shape s = x.shape();  // a copy: adding the slices may move the graph's nodes
  const int a = AttrAxis(attrs, s.rank());
  int64_t begin = 0;
  for (size_t i = 0; i < out.size(); ++i) {
    const int64_t n = attrs.Int(1) == kByParts ? s[a] / attrs.Int(2)
                                               : attrs.Int(2 + static_cast<int>(i));
    out[i] = Slice(x, a, begin, begin + n);
    begin += n;
  }
}
std::vector<Expr> Split(Expr x, absl::Span<const int64_t> sizes, int axis) {
  Attrs attrs;
  attrs.ints = {axis, kBySizes};
  attrs.ints.insert(attrs.ints.end(), sizes.begin(), sizes.end());
  std::vector<Expr> pieces(sizes.size());
  SplitPieces(x, attrs, absl::MakeSpan(pieces));
  return pieces;
}
void SplitInto(Expr x, int axis, absl::Span<Expr> pieces) {
  Attrs attrs;
  attrs.ints = {axis, kByParts, static_cast<int64_t>(pieces.size())};
  SplitPieces(x, attrs, pieces);
}
std::vector<Expr> Split(Expr x, int parts, int axis) {
  std::vector<Expr> pieces(static_cast<size_t>(std::max(parts, 0)));
  SplitInto(x, axis, absl::MakeSpan(pieces));
  return pieces;
}

// ---- concat -----------------------------------------------------------------------------
//   y = [x_0, x_1, ...] joined along axis; attrs.ints = {axis}
//   dx_i = slice(dy, axis, offset_i, offset_i + x_i.dim(axis))
static absl::StatusOr<TensorType> ConcatInfer(absl::Span<const TensorType> in,
                                              const Attrs& attrs) {
  const Shape& first = in[0].shape;
  TG_ASSIGN_OR_RETURN(const int a, CheckedAxis(attrs, first));
  Shape out = first;
  out[a] = 0;
  for (const TensorType& t : in) {
    TG_RETURN_IF_ERROR(ops::RequireSameDType(in[0], t));
    bool same = t.shape.rank() == first.rank();
    for (int d = 0; same && d < first.rank(); ++d) same = d == a || t.shape[d] == first[d];
    if (!same) {
      std::string shapes = absl::StrJoin(in, ", ", [](std::string* s, const TensorType& t) {
        s->append(t.shape.ToString());
      });
      return absl::InvalidArgumentError(
          fmt::format("shapes differ outside axis {}: {}", a, shapes));
    }
    out[a] += t.shape[a];
  }
  return TensorType{in[0].dtype, out};
}
static absl::Status ConcatKernel(const KernelContext& ctx) {
  const int axis = AttrAxis(ctx.attrs, ctx.output.shape().rank());
  const AxisSplit p = SplitAt(ctx.output.shape(), axis);
  return DispatchAll(ctx.output.dtype(), [&]<class T>(T) {
    T* out = ctx.output.data<T>();
    for (int64_t o = 0; o < p.outer; ++o) {
      for (const Tensor& x : ctx.inputs) {  // each input's block of this leading index
        const int64_t n = x.shape()[axis] * p.inner;
        CopyOrAdd(x.data<T>() + o * n, out, n, ctx.accumulate);
        out += n;
      }
    }
    return absl::OkStatus();
  });
}
static void ConcatVjp(VjpContext& ctx) {
  const Expr dy = ctx.grad_output();
  const int axis = AttrAxis(ctx.attrs(), dy.shape().rank());
  int64_t begin = 0;
  for (int i = 0; i < ctx.num_inputs(); ++i) {
    const int64_t n = ctx.input(i).shape()[axis];
    if (ctx.needs_grad(i)) ctx.AccumulateGrad(i, Slice(dy, axis, begin, begin + n));
    begin += n;
  }
}
// Joining a non-leading axis keeps rows: output row r is row r of every input, side by side.
static RowFacts ConcatRows(const Attrs& attrs, absl::Span<const TensorType> in) {
  const int rank = in[0].shape.rank();
  if (rank < 2 || AttrAxis(attrs, rank) == 0 || in.size() > 32) return {};
  const uint32_t all = in.size() == 32 ? ~0u : (1u << in.size()) - 1;
  return {.kind = RowKind::kIndependent, .row_operands = all};
}
const OpDef kConcat = {.name = "concat", .arity = -1, .infer = ConcatInfer,
                       .forward = ConcatKernel, .vjp = ConcatVjp, .rows = ConcatRows};
Expr Concat(absl::Span<const Expr> xs, int axis) {
  int rank = 0;
  for (const Expr& x : xs) {
    if (x.valid()) {
      rank = x.shape().rank();
      break;
    }
  }
  Attrs attrs;
  attrs.ints = {BuilderAxis(axis, rank)};
  return Build(kConcat, xs, attrs);
}

std::vector<const OpDef*> ShapeOps() {
  return {&kReshape, &kTranspose, &kSlice, &kSliceGrad, &kConcat};
}

}  // namespace tg
