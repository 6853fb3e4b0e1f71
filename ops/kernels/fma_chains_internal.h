// FmaChains of each ISA (fma_chains_kernels.cc, compiled once per ISA).
#ifndef TAPEGRAD_OPS_KERNELS_FMA_CHAINS_INTERNAL_H_
#define TAPEGRAD_OPS_KERNELS_FMA_CHAINS_INTERNAL_H_

#include <cstdint>

namespace tg::kernels::internal {

struct FmaChainsKernel {
  float (*run)(int64_t iterations, float seed);
  int64_t lanes;
};

}  // namespace tg::kernels::internal

namespace tg::kernels::avx2 {
extern const internal::FmaChainsKernel kFmaChainsKernel;
}  // namespace tg::kernels::avx2
namespace tg::kernels::avx512 {
extern const internal::FmaChainsKernel kFmaChainsKernel;
}  // namespace tg::kernels::avx512

#endif  // TAPEGRAD_OPS_KERNELS_FMA_CHAINS_INTERNAL_H_
