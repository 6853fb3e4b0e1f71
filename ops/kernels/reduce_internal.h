// The reductions of one ISA as a table (reduce_kernels.cc, compiled once per ISA); reduce.cc
// calls the active ISA's.
#ifndef TAPEGRAD_OPS_KERNELS_REDUCE_INTERNAL_H_
#define TAPEGRAD_OPS_KERNELS_REDUCE_INTERNAL_H_

#include <cstdint>

namespace tg::kernels::internal {

template <class T>
struct ReduceKernels {
  T (*sum)(const T* x, int64_t n);
  void (*sum_axis)(const T* x, T* out, int64_t outer, int64_t axis, int64_t inner,
                   bool accumulate);
  void (*softmax_rows)(const T* x, T* out, int64_t rows, int64_t cols, bool accumulate);
  void (*log_softmax_rows)(const T* x, T* out, int64_t rows, int64_t cols, bool accumulate);
  void (*softmax_cross_entropy_rows)(const T* logits, const int32_t* targets, int64_t rows,
                                     int64_t cols, T* per_row_loss);
  void (*mul_sum_rows)(const T* a, const T* b, T* out, int64_t rows, int64_t cols,
                       bool accumulate);
  void (*normalize_rows)(const T* x, T* out, int64_t rows, int64_t cols, T eps, bool accumulate);
  void (*normalize_grad_rows)(const T* x, const T* dy, T* out, int64_t rows, int64_t cols,
                              T eps, bool accumulate);
};

struct ReduceTable {
  ReduceKernels<float> f32;
  ReduceKernels<double> f64;
};

}  // namespace tg::kernels::internal

namespace tg::kernels::avx2 {
extern const internal::ReduceTable kReduceTable;
}  // namespace tg::kernels::avx2
namespace tg::kernels::avx512 {
extern const internal::ReduceTable kReduceTable;
}  // namespace tg::kernels::avx512

#endif  // TAPEGRAD_OPS_KERNELS_REDUCE_INTERNAL_H_
