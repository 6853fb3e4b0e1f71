// The single include point of xsimd in tapegrad. Code that instantiates xsimd's batches lives
// in the per-ISA kernel sources (ops/kernels/simd.h); other files see xsimd's declarations
// only (the functors of pointwise.h name xsimd's functions in templates).
#ifndef TAPEGRAD_OPS_KERNELS_XSIMD_INCLUDE_H_
#define TAPEGRAD_OPS_KERNELS_XSIMD_INCLUDE_H_

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

#endif  // TAPEGRAD_OPS_KERNELS_XSIMD_INCLUDE_H_
