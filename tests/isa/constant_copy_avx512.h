// Constant copies compiled with the AVX-512 kernels' flags (constant_copy_avx512.cc); call
// only on a CPU that supports AVX-512.
#ifndef TAPEGRAD_TESTS_ISA_CONSTANT_COPY_AVX512_H_
#define TAPEGRAD_TESTS_ISA_CONSTANT_COPY_AVX512_H_

namespace tg::testing::avx512_repro {

// out[0..4) = {1, 1, 1, 0}, copied from a local constant array.
void CopyOneOneOneZero(double* out);

// out[0..8) = {1, 1, 1, 1, 1, 1, 1, 0}, copied from a local constant array.
void CopySevenOnesZero(double* out);

}  // namespace tg::testing::avx512_repro

#endif  // TAPEGRAD_TESTS_ISA_CONSTANT_COPY_AVX512_H_
