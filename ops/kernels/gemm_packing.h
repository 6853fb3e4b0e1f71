// How tapegrad's GEMM kernels (gemm_kernels.cc) lay out their operands: the register tile's
// shape and the packing of A and B into panels of it. Included only by gemm_kernels.cc, so
// compiled once per ISA inside its namespace (ops/kernels/simd.h).
#pragma once

#include <algorithm>
#include <cstdint>

#include "ops/kernels/gemm_internal.h"
#include "ops/kernels/simd.h"

namespace tg::kernels::TG_KERNEL_ISA {
namespace {

// Register tile: kMr rows x two batches of columns. 12 accumulators + 2 B
// vectors + 1 broadcast fit the 16 AVX2 registers.
constexpr int64_t kMr = internal::kGemmTileRows;
template <class T>
constexpr int64_t kNr = 2 * kWidth<T>;

// Copies op(B)[kc, nc] (element (p,j) at b[p*rs + j*cs]) into kNr-wide
// panels, each kc x kNr contiguous, zero-padding the last panel's columns.
template <class T>
void PackB(int64_t kc, int64_t nc, const T* b, int64_t rs, int64_t cs, T* dst) {
  constexpr int64_t nr = kNr<T>;
  for (int64_t j0 = 0; j0 < nc; j0 += nr, dst += kc * nr) {
    const int64_t cols = std::min(nr, nc - j0);
    for (int64_t p = 0; p < kc; ++p) {
      for (int64_t j = cols; j < nr; ++j) dst[p * nr + j] = T(0);
    }
    // Walk the source along its contiguous direction.
    if (cs == 1 && cols == nr) {
      for (int64_t p = 0; p < kc; ++p) {
        for (int64_t v = 0; v < nr; v += kWidth<T>) {
          Batch<T>::load_unaligned(b + p * rs + j0 + v)
              .store_unaligned(dst + p * nr + v);  // a prepared packing may be unaligned
        }
      }
    } else if (cs == 1) {
      for (int64_t p = 0; p < kc; ++p) {
        for (int64_t j = 0; j < cols; ++j) dst[p * nr + j] = b[p * rs + j0 + j];
      }
    } else {
      for (int64_t j = 0; j < cols; ++j) {
        for (int64_t p = 0; p < kc; ++p)
          dst[p * nr + j] = b[p * rs + (j0 + j) * cs];
      }
    }
  }
}

// Copies A[mc, kc] (element (i,p) at a[i*rs + p*cs]) into panels of kMr rows, each
// kc x kMr contiguous (the last panel's missing rows are never read).
//
// A transposed A (rs == 1, a weight gradient's dZ^T) has each depth step's rows next to each
// other, lda apart from the next step's. Copied panel by panel, the kc source lines a panel
// reads would not stay in L1 for the next panel (with lda a multiple of 1 KB they share a few
// sets); copied step by step across all panels, the stores would go to mc / kMr streams as far
// apart. So it goes kPackASteps depth steps at a time: their source lines stay in L1 while
// every panel takes its part, each panel's stores in order. A panel with a batch's worth of
// the block's rows from its first one gets one batch per step, whose store runs past its kMr
// values into the following steps' (stored right after, or by the next group of steps); the
// last steps, whose batch would reach past the panel, are copied value by value, so nothing
// lands in the next panel (a batch can be wider than two steps: 16 floats on AVX-512).
constexpr int64_t kPackASteps = 16;
template <class T>
void PackA(int64_t mc, int64_t kc, const T* a, int64_t rs, int64_t cs, T* dst) {
  constexpr int64_t w = kWidth<T>;
  if (rs == 1) {
    for (int64_t p0 = 0; p0 < kc; p0 += kPackASteps) {
      const int64_t p1 = std::min(kc, p0 + kPackASteps);
      // The steps are too short for the hardware prefetcher: fetch the next group's lines.
      for (int64_t p = p1; p < std::min(kc, p1 + kPackASteps); ++p) {
        for (int64_t i = 0; i < mc; i += 64 / static_cast<int64_t>(sizeof(T))) {
          __builtin_prefetch(a + i + p * cs);
        }
      }
      T* panel = dst;
      for (int64_t i0 = 0; i0 < mc; i0 += kMr, panel += kc * kMr) {
        const int64_t rows = std::min(kMr, mc - i0);
        const bool batch = w >= kMr && i0 + w <= mc;
        for (int64_t p = p0; p < p1; ++p) {
          const T* src = a + i0 + p * cs;
          T* out = panel + p * kMr;
          if (batch && p * kMr + w <= kc * kMr) {
            Batch<T>::load_unaligned(src).store_unaligned(out);
          } else {
            for (int64_t r = 0; r < rows; ++r) out[r] = src[r];
          }
        }
      }
    }
    return;
  }
  for (int64_t i0 = 0; i0 < mc; i0 += kMr, dst += kc * kMr) {
    const int64_t rows = std::min(kMr, mc - i0);
    for (int64_t p = 0; p < kc; ++p) {
      for (int64_t r = 0; r < rows; ++r) dst[p * kMr + r] = a[(i0 + r) * rs + p * cs];
    }
  }
}

}  // namespace
}  // namespace tg::kernels::TG_KERNEL_ISA
