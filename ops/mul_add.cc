// mul_add: a * b + c in one op, and its gradient.
//   y = a * b + c      da = dy * b     db = SumTo(dy * a)     dc = SumTo(dy)
// a has the output's shape; b and c each have it too, or are a row [D] read by every row, a
// column [..., 1] read across each row, or one element (an affine map: x * gain + bias).
#include <cstdint>
#include <optional>

#include "fmt/format.h"
#include "graph/vjp_context.h"
#include "ops/kernels/pointwise.h"
#include "ops/op_util.h"
#include "ops/ops.h"
#include "ops/pointwise_internal.h"

namespace tg {
namespace {

using ops::GradFor;
using ops::ProductGradFor;

enum class MulAddRead : uint8_t { kFull, kRow, kColumn, kScalar };

std::optional<MulAddRead> ReadOf(const Shape& in, const Shape& out) {
  if (in == out) return MulAddRead::kFull;
  const std::optional<RowRead> r = ReadByRows(in, out);
  if (!r) return std::nullopt;
  const int64_t width = out.rank() == 0 ? 1 : out[out.rank() - 1];
  if (r->rows_one && r->last == 1) return MulAddRead::kScalar;
  if (r->rows_one && r->last == width) return MulAddRead::kRow;
  if (r->rows_kept && r->last == 1 && in.rank() == out.rank()) return MulAddRead::kColumn;
  return std::nullopt;
}

absl::StatusOr<TensorType> MulAddInfer(absl::Span<const TensorType> in, const Attrs&) {
  if (absl::Status s = ops::RequireFloat(in[0], "input 0"); !s.ok()) return s;
  for (int k = 1; k < 3; ++k) {
    if (absl::Status s = ops::RequireSameDType(in[0], in[k]); !s.ok()) return s;
    if (!ReadOf(in[k].shape, in[0].shape)) {
      return absl::InvalidArgumentError(fmt::format(
          "input {} is {}: it must have input 0's shape {}, its last axis, one element per row "
          "or one element",
          k, in[k].shape, in[0].shape));
    }
  }
  return in[0];
}

absl::Status MulAddKernel(const KernelContext& ctx) {
  return ops::DispatchFloat(ctx.output.dtype(), [&](auto zero) {
    using T = decltype(zero);
    const Shape& shape = ctx.output.shape();
    const int64_t n = ctx.output.num_elements();
    const int64_t cols = shape.rank() == 0 ? 1 : shape[shape.rank() - 1];
    const int64_t rows = cols > 0 ? n / cols : 0;
    const T* p[3];
    MulAddRead read[3];
    for (int k = 0; k < 3; ++k) {
      p[k] = ctx.inputs[k].data<T>();
      read[k] = *ReadOf(ctx.inputs[k].shape(), shape);
    }
    T* out = ctx.output.data<T>();
    const kernels::MulAddFn f;
    if (read[1] != MulAddRead::kRow && read[1] != MulAddRead::kColumn &&
        read[2] != MulAddRead::kRow && read[2] != MulAddRead::kColumn) {
      auto stride = [&](int k) -> int64_t { return read[k] == MulAddRead::kFull ? 1 : 0; };
      kernels::Ternary(f, p[0], 1, p[1], stride(1), p[2], stride(2), out, n, ctx.accumulate,
                       ctx.options.num_threads);
      return absl::OkStatus();
    }
    // Row by row, each operand at its row (full), its one row, or its row's one element.
    auto at = [&](int k, int64_t r) -> const T* {
      switch (read[k]) {
        case MulAddRead::kFull: return p[k] + r * cols;
        case MulAddRead::kColumn: return p[k] + r;
        case MulAddRead::kRow:
        case MulAddRead::kScalar: break;
      }
      return p[k];
    };
    auto stride = [&](int k) -> int64_t {
      return read[k] == MulAddRead::kFull || read[k] == MulAddRead::kRow ? 1 : 0;
    };
    for (int64_t r = 0; r < rows; ++r) {
      kernels::Ternary(f, at(0, r), 1, at(1, r), stride(1), at(2, r), stride(2), out + r * cols,
                       cols, ctx.accumulate);
    }
    return absl::OkStatus();
  });
}

// Rows are the leading axes of a: a full operand and a column ([..., 1]) carry them, a row
// [D] and a single element are shared.
RowFacts MulAddRowFacts(const Attrs&, absl::Span<const TensorType> in) {
  if (in[0].shape.rank() == 0) return {};
  RowFacts facts{.kind = RowKind::kIndependent, .row_operands = 1u};
  for (uint32_t k = 1; k < 3; ++k) {
    const std::optional<MulAddRead> read = ReadOf(in[k].shape, in[0].shape);
    if (!read) return {};
    if (*read == MulAddRead::kFull || *read == MulAddRead::kColumn) facts.row_operands |= 1u << k;
  }
  return facts;
}

template <class T>
void MulAddTile(absl::Span<const T* const> in, absl::Span<const int64_t> strides, T* out,
                int64_t n, const Attrs&, bool accumulate) {
  kernels::Ternary(kernels::MulAddFn{}, in[0], strides[0], in[1], strides[1], in[2], strides[2],
                   out, n, accumulate);
}

void MulAddVjp(VjpContext& ctx) {
  Expr dy = ctx.grad_output();
  if (ctx.needs_grad(0)) ctx.AccumulateGrad(0, GradFor(ctx, 0, dy * ctx.input(1)));
  if (ctx.needs_grad(1)) ctx.AccumulateGrad(1, ProductGradFor(ctx, 1, dy, ctx.input(0)));
  if (ctx.needs_grad(2)) ctx.AccumulateGrad(2, GradFor(ctx, 2, dy));
}

}  // namespace

namespace ops {

constexpr OpDef kMulAdd = {.name = "mul_add", .arity = 3, .infer = MulAddInfer,
                           .forward = MulAddKernel, .vjp = MulAddVjp,
                           .pointwise = {.f32 = MulAddTile<float>, .f64 = MulAddTile<double>,
                                         .broadcasts = true},
                           .rows = MulAddRowFacts};

}  // namespace ops

Expr MulAdd(Expr a, Expr b, Expr c) { return ops::Build(ops::kMulAdd, {a, b, c}); }

}  // namespace tg
