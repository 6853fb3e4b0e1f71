// Attrs: the attributes of one node, in a form every op can use and a compiler can copy.
// Each op documents what its fields mean (e.g. matmul: ints = {transpose_a, transpose_b}).
#pragma once

#include <cstdint>

#include "absl/container/inlined_vector.h"
#include "graph/shape.h"

namespace tg {

struct Attrs {
  absl::InlinedVector<int64_t, 4> ints;  // axes, flags, offsets, sizes
  double scalar = 0;                     // a constant such as a scale factor
  Shape shape;                           // a target shape (reshape, broadcast_to, sum_to)

  int64_t Int(int i, int64_t fallback = 0) const {
    return i < static_cast<int>(ints.size()) ? ints[i] : fallback;
  }
};

}  // namespace tg
