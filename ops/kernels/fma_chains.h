// Independent FMA chains on full registers of the active ISA (isa.h): the loop bench/fma.h
// times for the machine's FP32 peak, compiled with the kernels so that the peak is the one of
// the instruction set the kernels run on.
#ifndef TAPEGRAD_OPS_KERNELS_FMA_CHAINS_H_
#define TAPEGRAD_OPS_KERNELS_FMA_CHAINS_H_

#include <cstdint>

namespace tg::kernels {

// Zen3 and Skylake: 2 FMA pipes x 4-cycle latency = 8 chains in flight; 12 leave slack and
// still fit in 16 registers (12 accumulators + 2 constants).
inline constexpr int kFmaChains = 12;

// Runs `iterations` rounds of kFmaChains independent FMAs on registers of ActiveFloatLanes()
// floats; returns a value that depends on every chain so the compiler cannot drop them.
float FmaChains(int64_t iterations, float seed);

// Floats per register on the active ISA: 8 (AVX2) or 16 (AVX-512).
int64_t ActiveFloatLanes();

}  // namespace tg::kernels

#endif  // TAPEGRAD_OPS_KERNELS_FMA_CHAINS_H_
