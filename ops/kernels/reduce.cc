// The reductions of reduce.h, run by the active ISA's kernels (reduce_kernels.cc).
#include "ops/kernels/reduce.h"

#include <cstdint>
#include <type_traits>

#include "ops/kernels/isa.h"
#include "ops/kernels/reduce_internal.h"

namespace tg::kernels {
namespace {

template <class T>
const internal::ReduceKernels<T>& Active() {
  static const internal::ReduceTable& table =
      ForActiveIsa(avx2::kReduceTable, avx512::kReduceTable);
  if constexpr (std::is_same_v<T, float>) {
    return table.f32;
  } else {
    return table.f64;
  }
}

}  // namespace

template <class T>
T Sum(const T* x, int64_t n) {
  return Active<T>().sum(x, n);
}

template <class T>
void SumAxis(const T* x, T* out, int64_t outer, int64_t axis, int64_t inner, bool accumulate) {
  Active<T>().sum_axis(x, out, outer, axis, inner, accumulate);
}

template <class T>
void SoftmaxRows(const T* x, T* out, int64_t rows, int64_t cols, bool accumulate) {
  Active<T>().softmax_rows(x, out, rows, cols, accumulate);
}

template <class T>
void LogSoftmaxRows(const T* x, T* out, int64_t rows, int64_t cols, bool accumulate) {
  Active<T>().log_softmax_rows(x, out, rows, cols, accumulate);
}

template <class T>
void SoftmaxCrossEntropyRows(const T* logits, const int32_t* targets, int64_t rows, int64_t cols,
                             T* per_row_loss) {
  Active<T>().softmax_cross_entropy_rows(logits, targets, rows, cols, per_row_loss);
}

template <class T>
void MulSumRows(const T* a, const T* b, T* out, int64_t rows, int64_t cols, bool accumulate) {
  Active<T>().mul_sum_rows(a, b, out, rows, cols, accumulate);
}

template <class T>
void NormalizeRows(const T* x, T* out, int64_t rows, int64_t cols, T eps, bool accumulate) {
  Active<T>().normalize_rows(x, out, rows, cols, eps, accumulate);
}

template <class T>
void NormalizeGradRows(const T* x, const T* dy, T* out, int64_t rows, int64_t cols, T eps,
                       bool accumulate) {
  Active<T>().normalize_grad_rows(x, dy, out, rows, cols, eps, accumulate);
}

#define TG_KERNELS_INSTANTIATE_REDUCE(T)                                      \
  template T Sum<T>(const T*, int64_t);                                       \
  template void SumAxis<T>(const T*, T*, int64_t, int64_t, int64_t, bool);    \
  template void SoftmaxRows<T>(const T*, T*, int64_t, int64_t, bool);         \
  template void LogSoftmaxRows<T>(const T*, T*, int64_t, int64_t, bool);      \
  template void SoftmaxCrossEntropyRows<T>(const T*, const int32_t*, int64_t, \
                                           int64_t, T*);                      \
  template void MulSumRows<T>(const T*, const T*, T*, int64_t, int64_t, bool); \
  template void NormalizeRows<T>(const T*, T*, int64_t, int64_t, T, bool);    \
  template void NormalizeGradRows<T>(const T*, const T*, T*, int64_t, int64_t, T, bool);
TG_KERNELS_INSTANTIATE_REDUCE(float)
TG_KERNELS_INSTANTIATE_REDUCE(double)
#undef TG_KERNELS_INSTANTIATE_REDUCE

}  // namespace tg::kernels
