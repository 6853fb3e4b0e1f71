// What gemm_dispatch.cc needs from gemm_kernels.cc (compiled once per ISA): our kernel for any
// shape and C = beta * C, as a table per ISA, and the register tile's row count (row splits
// over threads are multiples of it).
#pragma once

#include <cstdint>

#include "ops/kernels/gemm.h"

namespace tg::kernels::internal {

inline constexpr int64_t kGemmTileRows = 6;

template <class T>
struct GemmKernels {
  void (*own_gemm)(const GemmArgs& g, const T* a, const T* b, T* c);
  void (*scale_c)(const GemmArgs& g, T* c);
  // op(B) [k,n] packed whole (gemm.h PrepareGemmB), and the product over it.
  int64_t (*prepared_b_elements)(int64_t k, int64_t n);
  void (*prepare_b)(const GemmArgs& g, const T* b, T* packed);
  void (*prepared_gemm)(const GemmArgs& g, const T* a, const T* packed, T* c);
  int64_t panel_columns;  // columns per packed panel: a column split's blocks are multiples
};

struct GemmTable {
  GemmKernels<float> f32;
  GemmKernels<double> f64;
};

}  // namespace tg::kernels::internal

namespace tg::kernels::avx2 {
extern const internal::GemmTable kGemmTable;
}  // namespace tg::kernels::avx2
namespace tg::kernels::avx512 {
extern const internal::GemmTable kGemmTable;
}  // namespace tg::kernels::avx512
