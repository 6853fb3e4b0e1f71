// The single include point of xsimd in tapegrad, plus the few aliases and
// helpers the kernels share. Everything SIMD goes through this header.
#ifndef TAPEGRAD_OPS_KERNELS_SIMD_H_
#define TAPEGRAD_OPS_KERNELS_SIMD_H_

#include <cstddef>
#include <cstdint>
#include <type_traits>

// g++ 12 at -O2/-O3 -march=native reports -Wuninitialized inside its own
// intrinsic headers when xsimd's exp/tanh are inlined (DESIGN.md section 7).
// The warnings are false positives; silence them for xsimd only (clang has no
// -Wmaybe-uninitialized and would warn about the unknown group).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#if !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <xsimd/xsimd.hpp>
#pragma GCC diagnostic pop

namespace tg::kernels {

// One register of T for the widest instruction set enabled at compile time
// (AVX2: 8 floats / 4 doubles; AVX-512: 16 / 8).
template <class T>
using Batch = xsimd::batch<T>;

template <class T>
using BatchBool = xsimd::batch_bool<T>;

// Lanes in a Batch<T>, as a signed count for index arithmetic.
template <class T>
inline constexpr int64_t kWidth = static_cast<int64_t>(Batch<T>::size);

// True for xsimd batches, false for scalars: lets one functor body serve the
// SIMD path and the scalar reference.
template <class B>
inline constexpr bool kIsBatch = !std::is_floating_point_v<B>;

// Element type of a batch or a scalar.
template <class B>
struct ScalarOf {
  using type = B;
};
template <class T, class A>
struct ScalarOf<xsimd::batch<T, A>> {
  using type = T;
};
template <class B>
using ScalarOfT = typename ScalarOf<B>::type;

// A constant as B (batch or scalar); constants in functors are stored as
// double so one functor object serves float and double.
template <class B>
inline B Splat(double c) {
  return B(static_cast<ScalarOfT<B>>(c));
}

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

}  // namespace tg::kernels

#endif  // TAPEGRAD_OPS_KERNELS_SIMD_H_
