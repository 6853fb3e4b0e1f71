// Neural-network ops: embedding lookup and its scatter-add gradient, one_hot, the fused
// softmax cross-entropy (one op for numerical stability), stop_gradient, dropout, and MseLoss
// (a composition). Ids and targets are i32 and data-dependent: a value out of range is a
// returned error naming it and its position, never a crash or an out-of-bounds access.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fmt/format.h"
#include "graph/graph.h"
#include "graph/op_def.h"
#include "base/random.h"
#include "base/status_macros.h"
#include "graph/vjp_context.h"
#include "ops/kernels/pointwise.h"
#include "ops/kernels/reduce.h"
#include "ops/op_util.h"
#include "ops/ops.h"
#include "ops/registry.h"

namespace tg {
namespace {

using ops::Build;

using ops::DispatchFloat;
using ops::RequireFloat;

using ops::CopyOrAdd;

absl::Status RequireI32(const TensorType& t, std::string_view what) {
  if (t.dtype == DType::kI32) return absl::OkStatus();
  return absl::InvalidArgumentError(fmt::format("{} must be i32, got {}", what, t.dtype));
}

// The first value outside [0, limit), as "id 9 at position 3 is out of range [0, 5)".
// Checked before any write, so a failed accumulating kernel leaves its output untouched.
absl::Status CheckIndices(const Tensor& ids, int64_t limit, std::string_view what) {
  const int32_t* p = ids.data<int32_t>();
  for (int64_t i = 0; i < ids.num_elements(); ++i) {
    if (p[i] < 0 || p[i] >= limit) {
      return absl::InvalidArgumentError(
          fmt::format("{} {} at position {} is out of range [0, {})", what, p[i], i, limit));
    }
  }
  return absl::OkStatus();
}

// ids [S...] -> [S..., width]; refused when S already has the highest rank a Shape holds.
absl::StatusOr<Shape> AppendDim(const Shape& s, int64_t width) {
  if (s.rank() >= Shape::kMaxRank) {
    return absl::InvalidArgumentError(
        fmt::format("ids {} have rank {}; the output adds a dimension, and tensors have rank "
                    "at most {}",
                    s, s.rank(), Shape::kMaxRank));
  }
  Shape out = s;
  out.push_back(width);
  TG_RETURN_IF_ERROR(ops::RequireCountFits(out));
  return out;
}

}  // namespace

// ---- embedding --------------------------------------------------------------------------
//   y[s, :] = table[ids[s], :]        table [V,D], ids i32 [S...] -> [S..., D]
//   dtable = embedding_grad(dy, ids, V)   (scatter-add; repeated ids sum); ids get none
static absl::StatusOr<TensorType> EmbeddingInfer(absl::Span<const TensorType> in, const Attrs&) {
  TG_RETURN_IF_ERROR(RequireFloat(in[0], "table"));
  TG_RETURN_IF_ERROR(RequireI32(in[1], "ids"));
  if (in[0].shape.rank() != 2) {
    return absl::InvalidArgumentError(
        fmt::format("table must be 2-D [V,D], got {}", in[0].shape));
  }
  TG_ASSIGN_OR_RETURN(Shape out, AppendDim(in[1].shape, in[0].shape[1]));
  return TensorType{in[0].dtype, out};
}

static absl::Status EmbeddingKernel(const KernelContext& ctx) {
  const Tensor& table = ctx.inputs[0];
  const Tensor& ids = ctx.inputs[1];
  const int64_t d = table.shape()[1];
  TG_RETURN_IF_ERROR(CheckIndices(ids, table.shape()[0], "id"));
  return DispatchFloat(table.dtype(), [&]<class T>(T) {
    const T* rows = table.data<T>();
    const int32_t* id = ids.data<int32_t>();
    T* out = ctx.output.data<T>();
    for (int64_t p = 0; p < ids.num_elements(); ++p) {
      CopyOrAdd(rows + id[p] * d, out + p * d, d, ctx.accumulate);
    }
    return absl::OkStatus();
  });
}

static void EmbeddingVjp(VjpContext& ctx) {
  if (!ctx.needs_grad(0)) return;
  const Expr table = ctx.input(0);
  ctx.AccumulateGrad(0, EmbeddingGrad(ctx.grad_output(), ctx.input(1), table.shape()[0]));
}

// Output row r is the lookup of ids' row r: rows come from operand 1, not the table.
static RowFacts EmbeddingRows(const Attrs&, absl::Span<const TensorType> in) {
  if (in[1].shape.rank() == 0) return {};
  return {.kind = RowKind::kIndependent, .row_operands = 1u << 1};
}

const OpDef kEmbedding = {.name = "embedding", .arity = 2, .infer = EmbeddingInfer,
                          .forward = EmbeddingKernel, .vjp = EmbeddingVjp,
                          .no_grad_inputs = 1u << 1, .rows = EmbeddingRows};
Expr Embedding(Expr table, Expr ids) { return Build(kEmbedding, {table, ids}); }

// ---- embedding_grad ---------------------------------------------------------------------
//   y = zeros([num_rows, D]); y[ids[s], :] += dy[s, :] for every s   attrs.ints = {num_rows}
//   ddy = embedding(g, ids); ids get none
static absl::StatusOr<TensorType> EmbeddingGradInfer(absl::Span<const TensorType> in,
                                                     const Attrs& attrs) {
  TG_RETURN_IF_ERROR(RequireFloat(in[0], "dy"));
  TG_RETURN_IF_ERROR(RequireI32(in[1], "ids"));
  const Shape& dy = in[0].shape;
  const Shape& ids = in[1].shape;
  bool fits = dy.rank() == ids.rank() + 1;
  for (int i = 0; fits && i < ids.rank(); ++i) fits = dy[i] == ids[i];
  if (!fits) {
    return absl::InvalidArgumentError(
        fmt::format("dy {} must be the ids' shape {} plus one trailing dimension", dy, ids));
  }
  const int64_t num_rows = attrs.Int(0);
  if (num_rows < 0) {
    return absl::InvalidArgumentError(fmt::format("num_rows {} is negative", num_rows));
  }
  const Shape out{num_rows, dy[dy.rank() - 1]};
  TG_RETURN_IF_ERROR(ops::RequireCountFits(out));
  return TensorType{in[0].dtype, out};
}

static absl::Status EmbeddingGradKernel(const KernelContext& ctx) {
  const Tensor& dy = ctx.inputs[0];
  const Tensor& ids = ctx.inputs[1];
  const int64_t d = ctx.output.shape()[1];
  TG_RETURN_IF_ERROR(CheckIndices(ids, ctx.output.shape()[0], "id"));
  if (!ctx.accumulate) ctx.output.SetZero();
  return DispatchFloat(dy.dtype(), [&]<class T>(T) {
    const T* src = dy.data<T>();
    const int32_t* id = ids.data<int32_t>();
    T* out = ctx.output.data<T>();
    // In position order, so repeated ids sum in a fixed order (deterministic bits).
    for (int64_t p = 0; p < ids.num_elements(); ++p) {
      CopyOrAdd(src + p * d, out + id[p] * d, d, /*accumulate=*/true);
    }
    return absl::OkStatus();
  });
}

static void EmbeddingGradVjp(VjpContext& ctx) {
  if (ctx.needs_grad(0)) ctx.AccumulateGrad(0, Embedding(ctx.grad_output(), ctx.input(1)));
}

// sum_s onehot(ids_s)^T dy_s: a sum over the rows dy and ids share, as in a weight gradient,
// so the scatters of T steps are one scatter over the stacked rows.
static RowFacts EmbeddingGradRows(const Attrs&, absl::Span<const TensorType> in) {
  if (in[1].shape.rank() == 0) return {};
  return {.kind = RowKind::kSummed, .row_operands = 0b11};
}

const OpDef kEmbeddingGrad = {.name = "embedding_grad", .arity = 2, .infer = EmbeddingGradInfer,
                              .forward = EmbeddingGradKernel, .vjp = EmbeddingGradVjp,
                              .no_grad_inputs = 1u << 1, .rows = EmbeddingGradRows};
Expr EmbeddingGrad(Expr dy, Expr ids, int64_t num_rows) {
  Attrs attrs;
  attrs.ints = {num_rows};
  return Build(kEmbeddingGrad, {dy, ids}, attrs);
}

// ---- one_hot ----------------------------------------------------------------------------
//   y[s, c] = (c == ids[s])    ids i32 [S...] -> [S..., depth] of a float dtype
//   attrs.ints = {depth, dtype}. No gradient: the input is integer.
static absl::StatusOr<TensorType> OneHotInfer(absl::Span<const TensorType> in, const Attrs& attrs) {
  TG_RETURN_IF_ERROR(RequireI32(in[0], "ids"));
  const int64_t depth = attrs.Int(0), code = attrs.Int(1);
  if (depth < 1) return absl::InvalidArgumentError(fmt::format("depth {} is < 1", depth));
  if (code != static_cast<int64_t>(DType::kF32) && code != static_cast<int64_t>(DType::kF64)) {
    const std::string got = code == static_cast<int64_t>(DType::kI32)
                                ? std::string(DTypeName(DType::kI32))
                                : fmt::format("code {}", code);
    return absl::InvalidArgumentError(fmt::format("output dtype must be f32 or f64, got {}", got));
  }
  TG_ASSIGN_OR_RETURN(Shape out, AppendDim(in[0].shape, depth));
  return TensorType{static_cast<DType>(code), out};
}

static absl::Status OneHotKernel(const KernelContext& ctx) {
  const Tensor& ids = ctx.inputs[0];
  const int64_t depth = ctx.attrs.Int(0);
  TG_RETURN_IF_ERROR(CheckIndices(ids, depth, "id"));
  if (!ctx.accumulate) ctx.output.SetZero();
  return DispatchFloat(ctx.output.dtype(), [&]<class T>(T) {
    const int32_t* id = ids.data<int32_t>();
    T* out = ctx.output.data<T>();
    for (int64_t p = 0; p < ids.num_elements(); ++p) out[p * depth + id[p]] += T(1);
    return absl::OkStatus();
  });
}

const OpDef kOneHot = {.name = "one_hot", .arity = 1, .infer = OneHotInfer, .forward = OneHotKernel,
                       .differentiable = false, .rows = ops::RowsFromOperand0};
Expr OneHot(Expr ids, int64_t depth, DType dtype) {
  Attrs attrs;
  attrs.ints = {depth, static_cast<int64_t>(dtype)};
  return Build(kOneHot, {ids}, attrs);
}

// ---- softmax_xent -----------------------------------------------------------------------
//   y = (1/B) sum_b [logsumexp(x[b, :]) - x[b, t_b]]     logits [B,C], targets i32 [B] -> []
//   dlogits = (softmax(x) - onehot(t, C)) * dy / B; targets get none
// One op rather than log(softmax): the max-shifted form is exact for any finite logits.
static absl::StatusOr<TensorType> SoftmaxXentInfer(absl::Span<const TensorType> in, const Attrs&) {
  TG_RETURN_IF_ERROR(RequireFloat(in[0], "logits"));
  TG_RETURN_IF_ERROR(RequireI32(in[1], "targets"));
  const Shape& x = in[0].shape;
  const Shape& t = in[1].shape;
  if (x.rank() != 2 || t.rank() != 1 || t[0] != x[0]) {
    return absl::InvalidArgumentError(
        fmt::format("need logits [B,C] and targets [B], got logits {} and targets {}", x, t));
  }
  TG_RETURN_IF_ERROR(ops::RequireNonEmpty(in[0], "logits"));
  // Copied, not moved: moving an empty Shape trips GCC 12's -Wmaybe-uninitialized.
  const TensorType scalar{.dtype = in[0].dtype, .shape = {}};
  return scalar;
}

static absl::Status SoftmaxXentKernel(const KernelContext& ctx) {
  const Tensor& logits = ctx.inputs[0];
  const Tensor& targets = ctx.inputs[1];
  const int64_t b = logits.shape()[0], c = logits.shape()[1];
  TG_RETURN_IF_ERROR(CheckIndices(targets, c, "target"));
  return DispatchFloat(logits.dtype(), [&]<class T>(T) {
    // Per-row losses go through a fixed stack buffer (kernels never allocate) and are summed
    // in double, in row order, so the mean repeats bitwise.
    constexpr int64_t kChunk = 128;
    T losses[kChunk];
    double total = 0;
    for (int64_t r = 0; r < b; r += kChunk) {
      const int64_t n = std::min(kChunk, b - r);
      kernels::SoftmaxCrossEntropyRows(logits.data<T>() + r * c, targets.data<int32_t>() + r, n,
                                       c, losses);
      for (int64_t i = 0; i < n; ++i) total += static_cast<double>(losses[i]);
    }
    const T mean = static_cast<T>(total / static_cast<double>(b));
    T* out = ctx.output.data<T>();
    out[0] = ctx.accumulate ? out[0] + mean : mean;
    return absl::OkStatus();
  });
}

static void SoftmaxXentVjp(VjpContext& ctx) {
  if (!ctx.needs_grad(0)) return;
  const Expr logits = ctx.input(0);
  const int64_t b = logits.shape()[0], c = logits.shape()[1];
  const Expr diff = Sub(Softmax(logits), OneHot(ctx.input(1), c, logits.dtype()));
  // dy is a scalar []: Mul broadcasts it over [B,C].
  ctx.AccumulateGrad(0, Mul(diff, Scale(ctx.grad_output(), 1.0 / static_cast<double>(b))));
}

const OpDef kSoftmaxXent = {.name = "softmax_xent", .arity = 2, .infer = SoftmaxXentInfer,
                            .forward = SoftmaxXentKernel, .vjp = SoftmaxXentVjp,
                            .no_grad_inputs = 1u << 1};
Expr SoftmaxCrossEntropy(Expr logits, Expr targets) {
  return Build(kSoftmaxXent, {logits, targets});
}

// ---- mse_loss (a composition, no OpDef) ------------------------------------------------
//   mean((pred - target)^2) over all elements
Expr MseLoss(Expr pred, Expr target) { return Mean(Square(Sub(pred, target))); }

// ---- stop_gradient ----------------------------------------------------------------------
//   y = x; no gradient flows to x (truncated BPTT cuts the carried state here).
// A view of x: with no VJP its output never requires a gradient, so nothing is ever
// accumulated through the shared memory. The copy kernel serves a compiler that wants one.
static absl::StatusOr<TensorType> SameType(absl::Span<const TensorType> in, const Attrs&) {
  return in[0];
}

template <class T>
static absl::Status CopyTyped(const KernelContext& ctx) {
  const Tensor& x = ctx.inputs[0];
  CopyOrAdd(x.data<T>(), ctx.output.data<T>(), x.num_elements(), ctx.accumulate);
  return absl::OkStatus();
}

static absl::Status CopyKernel(const KernelContext& ctx) {
  switch (ctx.inputs[0].dtype()) {
    case DType::kF32: return CopyTyped<float>(ctx);
    case DType::kF64: return CopyTyped<double>(ctx);
    case DType::kI32: return CopyTyped<int32_t>(ctx);
  }
  return absl::InternalError("unknown dtype");
}

static std::optional<int64_t> ViewAtStart(const Attrs&, absl::Span<const TensorType>) { return 0; }

const OpDef kStopGradient = {.name = "stop_gradient", .arity = 1, .infer = SameType,
                             .forward = CopyKernel, .differentiable = false,
                             .rows = ops::RowsFromOperand0,
                             .view = ViewAtStart};
Expr StopGradient(Expr x) { return Build(kStopGradient, {x}); }

// ---- dropout ----------------------------------------------------------------------------
//   y = keep_i ? x / (1 - p) : 0, keep_i = (CounterBits(seed, i) >> 8) >= p 2^24;
//   dx = dropout(dy) with the same seed
// attrs: scalar = p, ints = {seed}. The mask is never stored: the gradient redraws it from
// the seed, and a compiled program re-seeds both on every run (OpDef::seed_attr).
static absl::StatusOr<TensorType> DropoutInfer(absl::Span<const TensorType> in, const Attrs& a) {
  TG_RETURN_IF_ERROR(RequireFloat(in[0], "x"));
  if (!(a.scalar >= 0 && a.scalar < 1)) {
    return absl::InvalidArgumentError(fmt::format("p must lie in [0, 1), got {}", a.scalar));
  }
  return in[0];
}

// out[i] (+)= dropout of in[i] for i in [begin, end). Element i is number i mod 2^32 of the
// stream keyed by (seed, i / 2^32). Chunks of plain branch-free loops (hash, then select),
// so the compiler vectorises both.
template <class T>
static void DropoutRange(const T* in, T* out, int64_t begin, int64_t end, uint64_t seed,
                         uint32_t drop_below, T keep_scale, bool accumulate) {
  constexpr int64_t kChunk = 512;
  constexpr int64_t kBlock = int64_t{1} << 32;  // indices per stream key
  T factor[kChunk];
  for (int64_t start = begin; start < end;) {
    const int64_t block_end = (start / kBlock + 1) * kBlock;
    const int64_t m = std::min({kChunk, end - start, block_end - start});
    const CounterKey key = StreamKey(seed, static_cast<uint64_t>(start / kBlock));
    const auto first = static_cast<uint32_t>(start);  // start mod 2^32
    for (int64_t j = 0; j < m; ++j) {
      const uint32_t bits = CounterBits(key, first + static_cast<uint32_t>(j));
      factor[j] = (bits >> 8) >= drop_below ? keep_scale : T(0);
    }
    const T* x = in + start;
    T* y = out + start;
    if (accumulate) {
      for (int64_t j = 0; j < m; ++j) y[j] += x[j] * factor[j];
    } else {
      for (int64_t j = 0; j < m; ++j) y[j] = x[j] * factor[j];
    }
    start += m;
  }
}

// Each element's draw depends only on its index, so splitting over threads changes no bit.
static absl::Status DropoutKernel(const KernelContext& ctx) {
  const Tensor& x = ctx.inputs[0];
  const double p = ctx.attrs.scalar;
  const uint64_t seed = static_cast<uint64_t>(ctx.attrs.Int(0));
  const auto drop_below = static_cast<uint32_t>(std::ceil(p * 0x1.0p24));  // P(drop) = p
  return DispatchFloat(x.dtype(), [&]<class T>(T) {
    const T keep_scale = static_cast<T>(1.0 / (1.0 - p));
    kernels::ParallelRanges<T>(x.num_elements(), ctx.options.num_threads,
                               [&](int64_t begin, int64_t end) {
                                 DropoutRange(x.data<T>(), ctx.output.data<T>(), begin, end, seed,
                                              drop_below, keep_scale, ctx.accumulate);
                               });
    return absl::OkStatus();
  });
}

static void DropoutVjp(VjpContext& ctx) {
  if (!ctx.needs_grad(0)) return;
  ctx.AccumulateGrad(0, Dropout(ctx.grad_output(), ctx.attrs().scalar,
                                static_cast<uint64_t>(ctx.attrs().Int(0))));
}

const OpDef kDropout = {.name = "dropout", .arity = 1, .infer = DropoutInfer,
                        .forward = DropoutKernel, .vjp = DropoutVjp, .seed_attr = 0};
Expr Dropout(Expr x, double p, uint64_t seed) {
  Attrs attrs;
  attrs.scalar = p;
  attrs.ints = {static_cast<int64_t>(seed)};
  return Build(kDropout, {x}, attrs);
}

std::vector<const OpDef*> NnOps() {
  return {&kEmbedding, &kEmbeddingGrad, &kOneHot, &kSoftmaxXent, &kStopGradient, &kDropout};
}

}  // namespace tg
