// The matrix product: one op, "matmul", with its transpose flags as attributes so that every
// gradient product is itself a single matmul node (the compiler batches those over time).
#include <algorithm>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <vector>

#include "fmt/format.h"
#include "graph/graph.h"
#include "graph/op_def.h"
#include "base/status_macros.h"
#include "graph/vjp_context.h"
#include "ops/kernels/gemm.h"
#include "ops/op_util.h"
#include "ops/ops.h"
#include "ops/registry.h"

namespace tg {
namespace {

using ops::DispatchFloat;
using ops::RequireFloat;
using ops::RequireSameDType;

using ops::Build;

// ---- matmul ---------------------------------------------------------------
//   C[M,N] = op(A)[M,K] op(B)[K,N],   op(X) = X^T when its transpose flag is set.
//   attrs.ints = {transpose_a, transpose_b}.
//   (F,F) C = A B:      dA = dC B^T      dB = A^T dC
//   (F,T) C = A B^T:    dA = dC B        dB = dC^T A
//   (T,F) C = A^T B:    dA = B dC^T      dB = A dC
//   (T,T) C = A^T B^T:  dA = B^T dC^T    dB = dC^T A^T
bool TransA(const Attrs& attrs) { return attrs.Int(0) != 0; }
bool TransB(const Attrs& attrs) { return attrs.Int(1) != 0; }

absl::StatusOr<TensorType> MatMulInfer(absl::Span<const TensorType> in, const Attrs& attrs) {
  const Shape& a = in[0].shape;
  const Shape& b = in[1].shape;
  TG_RETURN_IF_ERROR(RequireFloat(in[0], "a"));
  TG_RETURN_IF_ERROR(RequireSameDType(in[0], in[1]));
  if (a.rank() != 2 || b.rank() != 2) {
    return absl::InvalidArgumentError(
        fmt::format("operands must be 2-D: a is {}, b is {}", a, b));
  }
  const bool ta = TransA(attrs), tb = TransB(attrs);
  const int64_t m = ta ? a[1] : a[0], ka = ta ? a[0] : a[1];
  const int64_t kb = tb ? b[1] : b[0], n = tb ? b[0] : b[1];
  if (ka != kb) {
    const char* flags = ta && tb ? " (transpose_a, transpose_b)"
                        : ta     ? " (transpose_a)"
                        : tb     ? " (transpose_b)"
                                 : "";
    return absl::InvalidArgumentError(
        fmt::format("inner dimensions differ: a is {}, b is {}{}", a, b, flags));
  }
  return TensorType{in[0].dtype, Shape{m, n}};
}

// The product C = op(A) op(B) of operands shaped `a` and `b` (already checked by MatMulInfer).
// Rows are dense, so each leading dimension is the stored row length (at least 1, which
// BLAS-style interfaces require even for empty matrices).
kernels::GemmArgs ProductArgs(const Attrs& attrs, const Shape& a, const Shape& b) {
  const bool ta = TransA(attrs), tb = TransB(attrs);
  const int64_t n = tb ? b[0] : b[1];
  return {
      .trans_a = ta,
      .trans_b = tb,
      .m = ta ? a[1] : a[0],
      .n = n,
      .k = ta ? a[0] : a[1],
      .alpha = 1,
      .beta = 0,
      .lda = std::max<int64_t>(1, a[1]),
      .ldb = std::max<int64_t>(1, b[1]),
      .ldc = std::max<int64_t>(1, n),
  };
}

template <class T>
absl::Status MatMulTyped(const KernelContext& ctx) {
  const Tensor& a = ctx.inputs[0];
  const Tensor& b = ctx.inputs[1];
  kernels::GemmArgs args = ProductArgs(ctx.attrs, a.shape(), b.shape());
  args.beta = ctx.accumulate ? 1.0 : 0.0;
  args.threads = ctx.options.num_threads;
  if (ctx.prepared != nullptr) {
    kernels::GemmPreparedB(args, a.data<T>(), reinterpret_cast<const T*>(ctx.prepared),
                           ctx.output.data<T>());
  } else {
    kernels::Gemm(args, a.data<T>(), b.data<T>(), ctx.output.data<T>());
  }
  return absl::OkStatus();
}

// B packed once for every product that reads it (kernels::PrepareGemmB), where the packed
// kernel beats what the product runs otherwise (kernels::PreparedGemmBPays): op(B) packed is
// one form for B and another for B^T, so the kind is the transpose flag.
std::optional<PreparedForm> MatMulPreparedForm(const Attrs& attrs,
                                               absl::Span<const TensorType> in) {
  if (in.size() != 2 || in[0].shape.rank() != 2 || in[1].shape.rank() != 2) return std::nullopt;
  const kernels::GemmArgs args = ProductArgs(attrs, in[0].shape, in[1].shape);
  const bool f64 = in[0].dtype == DType::kF64;
  if (in[0].dtype != in[1].dtype || !IsFloat(in[0].dtype) ||
      !kernels::PreparedGemmBPays(args, f64)) {
    return std::nullopt;
  }
  const int64_t elements = f64 ? kernels::PreparedGemmBElements<double>(args.k, args.n)
                               : kernels::PreparedGemmBElements<float>(args.k, args.n);
  return PreparedForm{.operand = 1,
                      .bytes = elements * static_cast<int64_t>(SizeOf(in[0].dtype)),
                      .kind = TransB(attrs) ? 1 : 0};
}

absl::Status MatMulPrepare(const PrepareContext& ctx) {
  const Shape& b = ctx.operand.shape();
  // Only op(B) matters to the packing.
  const bool tb = TransB(ctx.attrs);
  const kernels::GemmArgs args{.trans_b = tb,
                               .n = tb ? b[0] : b[1],
                               .k = tb ? b[1] : b[0],
                               .ldb = std::max<int64_t>(1, b[1])};
  return DispatchFloat(ctx.operand.dtype(), [&]<class T>(T) {
    const int64_t need = kernels::PreparedGemmBElements<T>(args.k, args.n);
    if (ctx.prepared.num_elements() < need || ctx.prepared.dtype() != ctx.operand.dtype()) {
      return absl::InvalidArgumentError(
          fmt::format("prepared form of B {} needs {} elements of {}, given {} {}", b, need,
                      ctx.operand.dtype(), ctx.prepared.shape(), ctx.prepared.dtype()));
    }
    kernels::PrepareGemmB(args, ctx.operand.data<T>(), ctx.prepared.data<T>());
    return absl::OkStatus();
  });
}

absl::Status MatMulKernel(const KernelContext& ctx) {
  return DispatchFloat(ctx.output.dtype(), [&]<class T>(T) { return MatMulTyped<T>(ctx); });
}

void MatMulVjp(VjpContext& ctx) {
  const Expr a = ctx.input(0), b = ctx.input(1), dc = ctx.grad_output();
  const bool ta = TransA(ctx.attrs()), tb = TransB(ctx.attrs());
  if (ctx.needs_grad(0)) {
    Expr da = !ta ? MatMul(dc, b, {.transpose_b = !tb})
                  : MatMul(b, dc, {.transpose_a = tb, .transpose_b = true});
    ctx.AccumulateGrad(0, da);
  }
  if (ctx.needs_grad(1)) {
    Expr db = !tb ? MatMul(a, dc, {.transpose_a = !ta})
                  : MatMul(dc, a, {.transpose_a = true, .transpose_b = ta});
    ctx.AccumulateGrad(1, db);
  }
}

// Without transpose_a, output row m is row m of A times B: row-independent in A. With
// transpose_a (and B untransposed), A^T B = sum_r a_r^T b_r sums over the rows A and B share,
// so stacked [A1;A2]^T [B1;B2] = A1^T B1 + A2^T B2. With both flags, B's rows are not the
// shared dimension (its columns are), so no row fact holds.
RowFacts MatMulRows(const Attrs& attrs, absl::Span<const TensorType>) {
  if (!TransA(attrs)) return {.kind = RowKind::kIndependent, .row_operands = 0b01};
  if (!TransB(attrs)) return {.kind = RowKind::kSummed, .row_operands = 0b11};
  return {};
}

const OpDef kMatMul = {
    .name = "matmul",
    .arity = 2,
    .infer = MatMulInfer,
    .forward = MatMulKernel,
    .vjp = MatMulVjp,
    .rows = MatMulRows,
    .prepare = {.form = MatMulPreparedForm, .prepare = MatMulPrepare},
};

}  // namespace

Expr MatMul(Expr a, Expr b, MatMulOptions options) {
  Attrs attrs;
  attrs.ints = {options.transpose_a ? 1 : 0, options.transpose_b ? 1 : 0};
  return Build(kMatMul, {a, b}, attrs);
}

std::vector<const OpDef*> MatMulOps() { return {&kMatMul}; }

}  // namespace tg
