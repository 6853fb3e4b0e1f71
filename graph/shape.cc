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
  bool empty = false;
  for (int64_t d : dims()) {
    if (d < 0) return std::nullopt;
    empty |= d == 0;
  }
  if (empty) return 0;  // [huge, huge, 0] holds nothing: no overflow to report
  int64_t n = 1;
  for (int64_t d : dims()) {
    if (__builtin_mul_overflow(n, d, &n)) return std::nullopt;
  }
  return n;
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
        absl::StrCat("shape ", ToString(), " has more elements than int64 can count"));
  }
  return absl::OkStatus();
}

}  // namespace tg
