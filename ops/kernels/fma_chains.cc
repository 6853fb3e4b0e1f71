#include "ops/kernels/fma_chains.h"

#include <cstdint>

#include "ops/kernels/fma_chains_internal.h"
#include "ops/kernels/isa.h"

namespace tg::kernels {
namespace {

const internal::FmaChainsKernel& Active() {
  static const internal::FmaChainsKernel& kernel =
      ForActiveIsa(avx2::kFmaChainsKernel, avx512::kFmaChainsKernel);
  return kernel;
}

}  // namespace

float FmaChains(int64_t iterations, float seed) { return Active().run(iterations, seed); }

int64_t ActiveFloatLanes() { return Active().lanes; }

}  // namespace tg::kernels
