/// \file
/// Which instructions must stay before which, from every read, write and accumulate of a
/// buffer's bytes. Accumulates into the same bytes commute, so they never order each other:
/// that is what lets a sum of weight-gradient products run as one product.
///
/// Built in one scan over the program. Each buffer is cut into byte ranges touched alike;
/// each range keeps its last writer, the readers since and the accumulators since. A read
/// then depends on the writer and the accumulators, an accumulate on the writer and the
/// readers, a write on all of them -- so an access costs the ranges it covers plus the
/// dependencies it adds, never a comparison with every earlier access of the buffer (a weight
/// read 2T times, its gradient summed into T times).
#pragma once

#include <cstdint>
#include <vector>

#include "absl/types/span.h"
#include "graph/compile/program.h"

namespace tg::compile {

/// Which instructions must stay before which (see graph/compile/dependencies.h).
class Dependencies {
 public:
  /// The dependencies of `program`'s instructions.
  explicit Dependencies(const Program& program);
  /// Instructions that must run before instruction i.
  absl::Span<const int> before(int i) const {
    return {before_.data() + before_begin_[i],
            static_cast<size_t>(before_begin_[i + 1] - before_begin_[i])};
  }
  /// Instructions that must run after instruction i.
  absl::Span<const int> after(int i) const {
    return {after_.data() + after_begin_[i],
            static_cast<size_t>(after_begin_[i + 1] - after_begin_[i])};
  }
  /// What building them cost: byte ranges visited plus candidate dependencies looked at.
  int64_t work() const { return work_; }

 private:
  std::vector<int> before_begin_, before_;  // before(i) = before_[before_begin_[i], ..[i+1])
  std::vector<int> after_begin_, after_;
  int64_t work_ = 0;
};

}  // namespace tg::compile
