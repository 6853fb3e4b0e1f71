// The per-ISA kernel sources' view of xsimd: Batch<T> and a few helpers, inside
// tg::kernels::TG_KERNEL_ISA. Only the sources ops/kernels/CMakeLists.txt compiles once per
// ISA include this header; it refuses any other file. Everything such a source defines goes
// inside that namespace too: inline and template code the AVX-512 build emits under a name the
// AVX2 build also emits could be the copy the linker keeps, and would then run on the AVX2
// path (tests/isa/check_avx512_placement.py fails the build's tests if that happens).
#ifndef TAPEGRAD_OPS_KERNELS_SIMD_H_
#define TAPEGRAD_OPS_KERNELS_SIMD_H_

#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "ops/kernels/xsimd_include.h"

#if !defined(TG_KERNEL_ISA)
#error "ops/kernels/simd.h is for the per-ISA kernel sources (TG_KERNEL_ISA=avx2|avx512)"
#endif

namespace tg::kernels::TG_KERNEL_ISA {

// The xsimd architecture this translation unit is built for: its flags must enable exactly it.
#if defined(TG_KERNEL_ISA_AVX512)
using Arch = xsimd::avx512bw;
#else
using Arch = xsimd::fma3<xsimd::avx2>;
#endif
static_assert(std::is_same_v<xsimd::default_arch, Arch>,
              "the per-ISA flags in ops/kernels/CMakeLists.txt do not match TG_KERNEL_ISA");

// One register of T (AVX2: 8 floats / 4 doubles; AVX-512: 16 / 8).
template <class T>
using Batch = xsimd::batch<T, Arch>;

template <class T>
using BatchBool = xsimd::batch_bool<T, Arch>;

// Lanes in a Batch<T>, as a signed count for index arithmetic.
template <class T>
inline constexpr int64_t kWidth = static_cast<int64_t>(Batch<T>::size);

// lane j of the result = the sum of rows[j]'s lanes, for kWidth<T> rows.
// xsimd 8.1's haddp for AVX-512 floats swaps lanes 2,3 with 4,5 (and 10,11
// with 12,13; DESIGN.md section 7): there each row is folded to 8 lanes and
// the AVX2 haddp, which is right, sums them.
template <class T>
inline Batch<T> SumEachRow(const Batch<T>* rows) {
#if XSIMD_VERSION_MAJOR == 8 && defined(__AVX512F__)
  if constexpr (std::is_same_v<T, float>) {
    xsimd::batch<float, xsimd::avx2> half[16];
    for (int j = 0; j < 16; ++j) {
      const __m512 r = rows[j];
      half[j] = _mm256_add_ps(_mm512_castps512_ps256(r),
                              _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(r), 1)));
    }
    const __m256 lo = xsimd::haddp(half), hi = xsimd::haddp(half + 8);
    return _mm512_castpd_ps(_mm512_insertf64x4(_mm512_castps_pd(_mm512_castps256_ps512(lo)),
                                               _mm256_castps_pd(hi), 1));
  }
#endif
  return xsimd::haddp(rows);
}

}  // namespace tg::kernels::TG_KERNEL_ISA

#endif  // TAPEGRAD_OPS_KERNELS_SIMD_H_
