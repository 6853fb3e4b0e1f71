// TEMPORARY input filter (listed in fuzz/README.md): Shape::num_elements() multiplies the
// dimensions in int64 without an overflow check (graph/shape.h, being converted to report
// bad shapes with a Status), so a shape such as [2^62, 2^62, 0] that a reader accepts
// overflows there. Targets skip such shapes until shape.h refuses them itself.
#pragma once

#include <cstdint>

#include "graph/shape.h"

namespace tg::fuzz {

// Whether every dimension is >= 0 and every partial product of the dimensions fits in
// int64 (what Shape::Product computes, in its order).
inline bool CountFits(const Shape& shape) {
  int64_t n = 1;
  for (int64_t d : shape.dims()) {
    if (d < 0 || __builtin_mul_overflow(n, d, &n)) return false;
  }
  return true;
}

}  // namespace tg::fuzz
