/// \file
/// The public catalog of ops: one builder per op, one line of doc each. Every builder records
/// a node on its inputs' graph; a bad shape or dtype is recorded as the graph's error (naming
/// the op, the input shapes and the node path) and poisons the result, never aborts.
/// `*` is always elementwise; the matrix product is MatMul. Binary pointwise ops broadcast as
/// NumPy does.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "absl/types/span.h"
#include "graph/expr.h"
#include "graph/graph.h"

namespace tg {

// ---- pointwise (ops/pointwise.cc, MulAdd ops/mul_add.cc); binary ops broadcast as NumPy does ----
Expr Add(Expr a, Expr b);             ///< a + b
Expr Sub(Expr a, Expr b);             ///< a - b
Expr Mul(Expr a, Expr b);             ///< a * b, elementwise
Expr Div(Expr a, Expr b);             ///< a / b
Expr Neg(Expr x);                     ///< -x
Expr Scale(Expr x, double c);         ///< c * x
Expr AddScalar(Expr x, double c);     ///< x + c
Expr Sigmoid(Expr x);                 ///< 1 / (1 + e^-x)
Expr Tanh(Expr x);                    ///< tanh x
Expr Relu(Expr x);                    ///< max(x, 0)
Expr Exp(Expr x);                     ///< e^x
Expr Log(Expr x);                     ///< natural log; x > 0
Expr Sqrt(Expr x);                    ///< square root; x >= 0
Expr Square(Expr x);                  ///< x * x
Expr Copy(Expr x);                    ///< a copy of x (a fresh buffer)
Expr TanhGrad(Expr y, Expr dy);       ///< dy * (1 - y^2): tanh's derivative from its output
Expr SigmoidGrad(Expr y, Expr dy);    ///< dy * y * (1 - y): sigmoid's derivative from its output
Expr ReluGrad(Expr x, Expr dy);       ///< x > 0 ? dy : 0 (no gradient flows to x)
/// a * b + c in one op (an affine map: x * gain + bias). The output has a's shape; b and c
/// each have it too, or are a row [D] (a's last axis), one element per row [..., 1], or one
/// element.
Expr MulAdd(Expr a, Expr b, Expr c);

Expr operator+(Expr a, Expr b);    ///< Add(a, b)
Expr operator-(Expr a, Expr b);    ///< Sub(a, b)
Expr operator*(Expr a, Expr b);    ///< Mul(a, b), elementwise
Expr operator/(Expr a, Expr b);    ///< Div(a, b)
Expr operator-(Expr x);            ///< Neg(x)
Expr operator+(Expr x, double c);  ///< AddScalar(x, c)
Expr operator+(double c, Expr x);  ///< AddScalar(x, c)
Expr operator-(Expr x, double c);  ///< AddScalar(x, -c)
Expr operator-(double c, Expr x);  ///< AddScalar(Neg(x), c)
Expr operator*(Expr x, double c);  ///< Scale(x, c)
Expr operator*(double c, Expr x);  ///< Scale(x, c)
Expr operator/(Expr x, double c);  ///< Scale(x, 1 / c)

// ---- matrix product (ops/matmul.cc) ----
/// Options of MatMul.
struct MatMulOptions {
  bool transpose_a = false;  ///< op(a) is a^T.
  bool transpose_b = false;  ///< op(b) is b^T.
};
/// op(a) [M,K] x op(b) [K,N] -> [M,N]; 2-D operands of one float dtype.
Expr MatMul(Expr a, Expr b, MatMulOptions options = {});

// ---- reductions and broadcasts (ops/reduce.cc) ----
/// Options of the reductions over one axis.
struct ReduceOptions {
  bool keepdims = false;  ///< Keep the reduced axis with length 1.
};
Expr Sum(Expr x);                                       ///< sum of all elements -> scalar []
Expr Sum(Expr x, int axis, ReduceOptions options = {});  ///< over `axis` (may be negative)
Expr Mean(Expr x);                                      ///< Sum(x) / count
Expr Mean(Expr x, int axis, ReduceOptions options = {});  ///< Sum(x, axis) / x.dim(axis)
Expr SumTo(Expr x, Shape shape);        ///< sums a broadcast back down to `shape`
/// SumTo(a * b, shape) as one op for a, b [N, D] and `shape` [D] or [1, D]: the gradient of
/// a row operand of a product, a sum over rows that time batching stacks over steps.
Expr MulSumTo(Expr a, Expr b, Shape shape);
Expr BroadcastTo(Expr x, Shape shape);  ///< NumPy broadcast of x up to `shape`
Expr Softmax(Expr x);                   ///< over the last axis, stable for any logits
Expr LogSoftmax(Expr x);                ///< over the last axis, stable for any logits

// ---- row normalisation (ops/normalize.cc) ----
/// (x - mean) / sqrt(var + eps) over the last axis (mean and biased variance of each row):
/// layer normalisation without gain and bias; x of rank >= 1, eps >= 0.
Expr Normalize(Expr x, double eps);
/// Normalize's gradient for x given dy (both of x's shape): with y = Normalize(x, eps) and
/// s = 1 / sqrt(var + eps) per row, s * (dy - mean(dy) - y * mean(dy * y)).
Expr NormalizeGrad(Expr x, Expr dy, double eps);

// ---- shapes (ops/shape_ops.cc) ----
Expr Reshape(Expr x, Shape shape);  ///< same element count; a view, no copy
Expr Transpose(Expr x);             ///< 2-D transpose
/// x[..., begin:end, ...] along `axis`; a view when the slice is contiguous (leading axis).
Expr Slice(Expr x, int axis, int64_t begin, int64_t end);
/// Zeros of `input_shape` with dy placed at [begin, begin + dy.dim(axis)) along axis: the
/// gradient of Slice when a higher-order graph is wanted.
Expr SliceGrad(Expr dy, Shape input_shape, int axis, int64_t begin);
/// Cuts x along `axis` into pieces of `sizes` (which must add up to the axis length).
std::vector<Expr> Split(Expr x, absl::Span<const int64_t> sizes, int axis);
/// Cuts x into `parts` equal pieces along `axis`.
std::vector<Expr> Split(Expr x, int parts, int axis);
/// Cuts x into pieces.size() equal pieces along `axis`, written into `pieces`.
void SplitInto(Expr x, int axis, absl::Span<Expr> pieces);
/// Cuts x into N equal pieces along `axis`: `auto [f, u] = Split<2>(z, 1);`.
template <int N>
std::array<Expr, N> Split(Expr x, int axis) {
  std::array<Expr, N> out;
  SplitInto(x, axis, absl::MakeSpan(out));
  return out;
}
Expr Concat(absl::Span<const Expr> xs, int axis);  ///< joins along `axis`

// ---- neural-network ops (ops/nn.cc) ----
/// table [V,D], ids i32 of any shape S -> [S..., D]; ids must lie in [0, V).
Expr Embedding(Expr table, Expr ids);
/// Scatter-add of dy [S..., D] into a [num_rows, D] zero tensor at ids: Embedding's gradient.
Expr EmbeddingGrad(Expr dy, Expr ids, int64_t num_rows);
/// ids i32 [N] -> [N, depth] of `dtype` with a 1 at each id.
Expr OneHot(Expr ids, int64_t depth, DType dtype);
/// logits [B,C], targets i32 [B] in [0, C) -> scalar mean over the batch of -log softmax.
Expr SoftmaxCrossEntropy(Expr logits, Expr targets);
/// `mean((pred - target)^2)` over all elements (a composition of ops).
Expr MseLoss(Expr pred, Expr target);
/// x's value with no gradient flowing back (truncated BPTT cuts here).
Expr StopGradient(Expr x);
/// Inverted dropout: x / (1 - p) where the element's counter-based uniform (seed, index) is
/// >= p, else 0; p in [0, 1). Its gradient redraws the same mask from the seed.
Expr Dropout(Expr x, double p, uint64_t seed);

}  // namespace tg
