// Reductions and row-wise softmax kernels. Deterministic: the summation order
// depends only on the length (never on the pointer's alignment), so the same
// input gives the same bits on every run. None of them allocates.
// Instantiated for float and double in reduce.cc.
#ifndef TAPEGRAD_OPS_KERNELS_REDUCE_H_
#define TAPEGRAD_OPS_KERNELS_REDUCE_H_

#include <cstdint>

namespace tg::kernels {

// Sum of x[0..n). SIMD lanes accumulate, then a fixed-order tree over lanes.
template <class T>
T Sum(const T* x, int64_t n);

// x viewed as [outer, axis, inner]; out[o, i] (+)= sum_a x[o, a, i].
// Vectorized over inner, or over axis when inner == 1. out must not alias x.
template <class T>
void SumAxis(const T* x, T* out, int64_t outer, int64_t axis, int64_t inner,
             bool accumulate);

// Row-wise softmax of x [rows, cols] into out (+= when accumulate). The row
// max is subtracted first, so any finite logits are safe.
template <class T>
void SoftmaxRows(const T* x, T* out, int64_t rows, int64_t cols,
                 bool accumulate);

// Row-wise log_softmax: out = (x - max) - log(sum(exp(x - max))).
template <class T>
void LogSoftmaxRows(const T* x, T* out, int64_t rows, int64_t cols,
                    bool accumulate);

// a, b viewed as [rows, cols]; out[c] (+)= sum_r a[r, c] * b[r, c]. Each column's sum runs
// over r in order. out must not alias a or b.
template <class T>
void MulSumRows(const T* a, const T* b, T* out, int64_t rows, int64_t cols, bool accumulate);

// Row-wise normalisation over the last axis: out = (x - mean) / sqrt(var + eps), mean and
// (biased) variance of each row of x [rows, cols] (+= when accumulate). Layer normalisation
// without its gain and bias.
template <class T>
void NormalizeRows(const T* x, T* out, int64_t rows, int64_t cols, T eps, bool accumulate);

// Its gradient: with y = NormalizeRows(x) and s = 1 / sqrt(var + eps) per row,
// out = s * (dy - mean(dy) - y * mean(dy * y)) (+= when accumulate).
template <class T>
void NormalizeGradRows(const T* x, const T* dy, T* out, int64_t rows, int64_t cols, T eps,
                       bool accumulate);

// per_row_loss[r] = logsumexp(logits[r, :]) - logits[r, targets[r]].
// The caller validates 0 <= targets[r] < cols.
template <class T>
void SoftmaxCrossEntropyRows(const T* logits, const int32_t* targets,
                             int64_t rows, int64_t cols, T* per_row_loss);

}  // namespace tg::kernels

#endif  // TAPEGRAD_OPS_KERNELS_REDUCE_H_
