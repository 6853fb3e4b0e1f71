// FmaChains of one ISA (compiled once per ISA; fma_chains.cc picks the active one).
#include <array>
#include <cstdint>

#include "ops/kernels/fma_chains.h"
#include "ops/kernels/fma_chains_internal.h"
#include "ops/kernels/simd.h"

namespace tg::kernels::TG_KERNEL_ISA {
namespace {

float Chains(int64_t iterations, float seed) {
  using B = Batch<float>;
  std::array<B, kFmaChains> acc;
  for (int c = 0; c < kFmaChains; ++c) acc[c] = B(seed + 0.001f * static_cast<float>(c));
  // acc -> acc * m + a converges to a / (1 - m) = 1: no overflow, no denormals.
  const B m(0.999999f), a(0.000001f);
  for (int64_t i = 0; i < iterations; ++i) {
#pragma GCC unroll 12
    for (int c = 0; c < kFmaChains; ++c) acc[c] = xsimd::fma(acc[c], m, a);
  }
  B sum = acc[0];
  for (int c = 1; c < kFmaChains; ++c) sum += acc[c];
  return xsimd::hadd(sum);
}

}  // namespace

const internal::FmaChainsKernel kFmaChainsKernel = {.run = Chains, .lanes = kWidth<float>};

}  // namespace tg::kernels::TG_KERNEL_ISA
