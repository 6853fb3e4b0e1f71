#include "graph/shape.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace tg {

// StrCat, not "[" + ... + "]": GCC 12 at -O3 reports a false -Wrestrict on the latter.
std::string Shape::ToString() const {
  if (rank_ > kMaxRank) {
    return absl::StrCat("[", absl::StrJoin(dims(), ","), ",+", rank_ - kMaxRank, " more]");
  }
  return absl::StrCat("[", absl::StrJoin(dims(), ","), "]");
}

std::optional<int64_t> Shape::CheckedNumElements() const {
  if (rank_ > kMaxRank) return std::nullopt;
  // The non-zero dimensions must multiply within int64 even when a zero empties the shape:
  // strided loops take products of leading or trailing axes ([2^62, 2^62, 0] has an outer
  // extent of 2^124), so such a shape is refused, not counted as empty.
  int64_t nonzero = 1;
  bool empty = false;
  for (int64_t d : dims()) {
    if (d < 0) return std::nullopt;
    if (d == 0) {
      empty = true;
    } else if (__builtin_mul_overflow(nonzero, d, &nonzero)) {
      return std::nullopt;
    }
  }
  return empty ? 0 : nonzero;
}

absl::Status Shape::Validate() const {
  if (rank_ > kMaxRank) {
    return absl::InvalidArgumentError(absl::StrCat("shape ", ToString(), " has rank ",
                                                   requested_rank(), ", above the maximum rank ",
                                                   kMaxRank));
  }
  for (int i = 0; i < rank_; ++i) {  // rank_ <= kMaxRank here
    if (dims_[i] < 0) {
      return absl::InvalidArgumentError(absl::StrCat("shape ", ToString(), " has a negative dimension (",
                                                     dims_[i], " at axis ", i, ")"));
    }
  }
  if (!CheckedNumElements().has_value()) {
    return absl::ResourceExhaustedError(
        absl::StrCat("shape ", ToString(), " has dimensions whose product overflows int64"));
  }
  return absl::OkStatus();
}

std::optional<RowRead> ReadByRows(const Shape& in, const Shape& out) {
  if (in.rank() > out.rank()) return std::nullopt;
  const int lead = out.rank() - in.rank();
  RowRead r{.rows_kept = true, .rows_one = true, .last = in.rank() == 0 ? 1 : in[in.rank() - 1]};
  for (int d = 0; d + 1 < out.rank(); ++d) {
    const int64_t x = d >= lead ? in[d - lead] : 1;
    r.rows_kept &= x == out[d];
    r.rows_one &= x == 1;
  }
  return r;
}

}  // namespace tg
