#include "graph/shape.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace tg {

// StrCat, not "[" + ... + "]": GCC 12 at -O3 reports a false -Wrestrict on the latter.
std::string Shape::ToString() const { return absl::StrCat("[", absl::StrJoin(dims(), ","), "]"); }

}  // namespace tg
