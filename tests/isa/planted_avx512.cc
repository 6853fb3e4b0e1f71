// Code the AVX-512 placement check must refuse: AVX-512 instructions in a function outside
// tg::kernels::avx512 (built with -march=x86-64-v4, never linked into anything).
#include <immintrin.h>

namespace tg::planted {

float SumOf16(const float* x) { return _mm512_reduce_add_ps(_mm512_loadu_ps(x)); }

}  // namespace tg::planted
