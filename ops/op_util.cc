#include "ops/op_util.h"

#include <algorithm>

namespace tg::ops {

absl::StatusOr<Shape> BroadcastShapes(const Shape& a, const Shape& b) {
  int rank = std::max(a.rank(), b.rank());
  Shape out;
  for (int i = 0; i < rank; ++i) {
    int ia = a.rank() - rank + i, ib = b.rank() - rank + i;
    int64_t da = ia >= 0 ? a[ia] : 1, db = ib >= 0 ? b[ib] : 1;
    if (da != db && da != 1 && db != 1) {
      return absl::InvalidArgumentError(
          fmt::format("shapes {} and {} do not broadcast (dimension {}: {} vs {})", a, b, i, da,
                      db));
    }
    out.push_back(da == 1 ? db : da);
  }
  return out;
}

absl::StatusOr<TensorType> SameAsFloatInput(absl::Span<const TensorType> in, const Attrs&) {
  if (absl::Status s = RequireFloat(in[0], "input"); !s.ok()) return s;
  return in[0];
}

absl::StatusOr<TensorType> SameShapeFloatPair(absl::Span<const TensorType> in, const Attrs&) {
  if (absl::Status s = RequireFloat(in[0], "input 0"); !s.ok()) return s;
  if (absl::Status s = RequireSameDType(in[0], in[1]); !s.ok()) return s;
  if (!(in[0].shape == in[1].shape)) {
    return absl::InvalidArgumentError(
        fmt::format("shapes differ: {} and {}", in[0].shape, in[1].shape));
  }
  return in[0];
}

RowFacts PointwiseRowFacts(const Attrs&, absl::Span<const TensorType> in) {
  Shape out = in[0].shape;
  for (size_t i = 1; i < in.size(); ++i) {
    absl::StatusOr<Shape> b = BroadcastShapes(out, in[i].shape);
    if (!b.ok()) return {};
    out = *b;
  }
  if (out.rank() == 0) return {};
  RowFacts facts{.kind = RowKind::kIndependent};
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i].shape == out) facts.row_operands |= 1u << i;
  }
  return facts;
}

RowFacts RowsFromOperand0(const Attrs&, absl::Span<const TensorType> in) {
  if (in[0].shape.rank() == 0) return {};
  return {.kind = RowKind::kIndependent, .row_operands = 1u};
}

}  // namespace tg::ops
