/// \file
/// Attrs: the attributes of one node, in a form every op can use and a compiler can copy.
/// Each op documents what its fields mean (e.g. matmul: ints = {transpose_a, transpose_b}).
#pragma once

#include <cstdint>

#include "absl/container/inlined_vector.h"
#include "graph/shape.h"

namespace tg {

/// The attributes of one node; each op documents what its fields mean.
struct Attrs {
  absl::InlinedVector<int64_t, 4> ints;  ///< Axes, flags, offsets, sizes.
  double scalar = 0;                     ///< A constant such as a scale factor.
  Shape shape;                           ///< A target shape (reshape, broadcast_to, sum_to).

  /// ints[i], or `fallback` when there are not that many.
  int64_t Int(int i, int64_t fallback = 0) const {
    return i < static_cast<int>(ints.size()) ? ints[i] : fallback;
  }
};

}  // namespace tg
