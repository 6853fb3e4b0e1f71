// What gemm_dispatch.cc needs from gemm_kernels.cc: our kernel for any shape, C = beta * C,
// and the register tile's row count (row splits over threads are multiples of it).
#pragma once

#include <cstdint>

#include "ops/kernels/gemm.h"

namespace tg::kernels::internal {

inline constexpr int64_t kGemmTileRows = 6;

void OwnGemm(const GemmArgs& g, const float* a, const float* b, float* c);
void OwnGemm(const GemmArgs& g, const double* a, const double* b, double* c);
void ScaleC(const GemmArgs& g, float* c);
void ScaleC(const GemmArgs& g, double* c);

}  // namespace tg::kernels::internal
