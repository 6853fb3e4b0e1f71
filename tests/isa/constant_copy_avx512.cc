// The minimal reproducer of g++ 12.2's AVX-512 miscompile (docs/building.md, "CPU targets"),
// built with the AVX-512 kernels' flags (TG_KERNEL_AVX512_FLAGS, workaround included):
// copying a constant array whose last 64-bit words are zero came out as a broadcast of its
// first word ({1, 1, 1, 0} stored as four ones). Linked into ops_test, whose
// IsaTest.Avx512ConstantCopyKeepsTrailingZeros calls it on AVX-512 CPUs.
#include "tests/isa/constant_copy_avx512.h"

#include <cstring>

namespace tg::testing::avx512_repro {

void CopyOneOneOneZero(double* out) {
  const double init[4] = {1, 1, 1, 0};
  std::memcpy(out, init, sizeof init);
}

void CopySevenOnesZero(double* out) {
  const double init[8] = {1, 1, 1, 1, 1, 1, 1, 0};
  std::memcpy(out, init, sizeof init);
}

}  // namespace tg::testing::avx512_repro
