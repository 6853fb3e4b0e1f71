/// \file
/// Helpers shared by the op families in ops/*.cc: building nodes, dtype dispatch, shape-rule
/// pieces and the declared row facts. Internal to ops/ (not part of the public API).
#pragma once

#include <cstring>
#include <initializer_list>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "fmt/format.h"
#include "graph/graph.h"
#include "graph/op_def.h"

/// \cond INTERNAL
namespace tg::ops {

// Records `op` on the graph of the first non-empty input. An empty result if every input
// is empty (that is reported when the empty Expr is used).
// (Attrs by const reference: moving it twice trips GCC 12's -Wmaybe-uninitialized inside
// absl::InlinedVector.)
inline Expr Build(const OpDef& op, absl::Span<const Expr> inputs, const Attrs& attrs = {}) {
  for (const Expr& e : inputs) {
    if (e.graph() != nullptr) return e.graph()->AddNode(op, inputs, attrs);
  }
  return Expr();
}
inline Expr Build(const OpDef& op, std::initializer_list<Expr> inputs, const Attrs& attrs = {}) {
  return Build(op, absl::Span<const Expr>(inputs.begin(), inputs.size()), attrs);
}

// Attrs holding one constant in attrs.scalar (scale's c, normalize's eps, ...).
inline Attrs ScalarAttrs(double c) {
  Attrs attrs;
  attrs.scalar = c;
  return attrs;
}

// Calls body(T{}) with T = float or double for a float dtype; an error for i32.
template <class Body>
absl::Status DispatchFloat(DType dtype, Body&& body) {
  switch (dtype) {
    case DType::kF32: return body(float{});
    case DType::kF64: return body(double{});
    default: return absl::InvalidArgumentError(fmt::format("expected f32 or f64, got {}", dtype));
  }
}

inline absl::Status RequireFloat(const TensorType& t, std::string_view what) {
  if (IsFloat(t.dtype)) return absl::OkStatus();
  return absl::InvalidArgumentError(fmt::format("{} must be f32 or f64, got {}", what, t.dtype));
}
inline absl::Status RequireSameDType(const TensorType& a, const TensorType& b) {
  if (a.dtype == b.dtype) return absl::OkStatus();
  return absl::InvalidArgumentError(fmt::format("dtypes differ: {} and {}", a.dtype, b.dtype));
}
inline absl::Status RequireNonEmpty(const TensorType& t, std::string_view what) {
  if (t.shape.num_elements() > 0) return absl::OkStatus();
  return absl::InvalidArgumentError(fmt::format("{} is empty ({})", what, t.shape));
}
// Refuses a shape whose element count does not fit in int64 (counted in Shape::Product's
// order, which does not check): an attribute such as a depth or a row count can ask for one.
inline absl::Status RequireCountFits(const Shape& s) {
  int64_t n = 1;
  for (int64_t d : s.dims()) {
    if (__builtin_mul_overflow(n, d, &n)) {
      return absl::InvalidArgumentError(
          fmt::format("output shape {} has more elements than int64 counts", s));
    }
  }
  return absl::OkStatus();
}
// Normalises a possibly negative axis; an error naming the rank if out of range.
inline absl::StatusOr<int> NormalizeAxis(int64_t axis, int rank) {
  if (axis < -rank || axis >= rank) {
    return absl::InvalidArgumentError(
        fmt::format("axis {} is out of range for rank {}", axis, rank));
  }
  return static_cast<int>(axis < 0 ? axis + rank : axis);
}

// dst[0..n) = src[0..n), or += when accumulating. Views start at any element, so nothing
// here assumes more than element alignment.
template <class T>
void CopyOrAdd(const T* src, T* dst, int64_t n, bool accumulate) {
  if (n <= 0) return;
  if (!accumulate) {
    std::memcpy(dst, src, static_cast<size_t>(n) * sizeof(T));
    return;
  }
  for (int64_t i = 0; i < n; ++i) dst[i] += src[i];
}

// NumPy broadcasting of two shapes (aligned at the right; 1 stretches).
absl::StatusOr<Shape> BroadcastShapes(const Shape& a, const Shape& b);

// Shape rules used by many ops.
absl::StatusOr<TensorType> SameAsFloatInput(absl::Span<const TensorType> in, const Attrs&);
absl::StatusOr<TensorType> SameShapeFloatPair(absl::Span<const TensorType> in, const Attrs&);

// Row facts: pointwise ops are row-independent in every operand of the output's full shape.
RowFacts PointwiseRowFacts(const Attrs&, absl::Span<const TensorType> in);
// Row-independent in operand 0 only (softmax over the last axis, embedding lookup, ...).
RowFacts RowsFromOperand0(const Attrs&, absl::Span<const TensorType> in);

}  // namespace tg::ops
/// \endcond
