/// \file
/// What the two dependency scans share (graph/compile/dependencies.h over a program's
/// buffers, graph/compile/schedule.h over a lowered program's memory): bytes cut into ranges
/// touched alike, each remembering who touched it last, and the edges found, each pair once.
#pragma once

#include <cstdint>
#include <iterator>
#include <map>
#include <utility>
#include <vector>

namespace tg::compile {

/// Ranges by first byte, tiling the bytes scanned; `Range` has an `int64_t end`.
template <class Range>
using ByteRanges = std::map<int64_t, Range>;

/// Makes `at` the first byte of a range of `ranges` (which must cover it) and returns that
/// range: the bytes from `at` on keep what the whole range had seen.
template <class Range>
typename ByteRanges<Range>::iterator SplitRangeAt(ByteRanges<Range>& ranges, int64_t at) {
  auto it = std::prev(ranges.upper_bound(at));
  if (it->first == at) return it;
  Range tail = it->second;
  it->second.end = at;
  return ranges.emplace_hint(std::next(it), at, std::move(tail));
}

/// After a write of [first, last): the written ranges are alike now, so they become one range
/// (which `first` keeps) and later accesses visit it once.
template <class Range>
void JoinWrittenRanges(ByteRanges<Range>& ranges, typename ByteRanges<Range>::iterator first,
                       typename ByteRanges<Range>::iterator last) {
  if (std::next(first) == last) return;
  first->second.end = std::prev(last)->second.end;
  ranges.erase(std::next(first), last);
}

/// Dependency edges (before, after) of a scan that visits `after` in increasing order, each
/// pair once; `work` counts every dependency looked at.
class DependencyEdges {
 public:
  /// For a scan over `count` instructions or steps.
  DependencyEdges(int count, int64_t& work) : seen_(static_cast<size_t>(count), -1), work_(work) {}
  /// Records that `after` depends on `before` (nothing when `before` is -1 or `after`).
  void Add(int before, int after) {
    ++work_;
    if (before < 0 || before == after || seen_[before] == after) return;
    seen_[before] = after;
    edges_.emplace_back(before, after);
  }
  /// The edges, grouped by increasing `after`.
  const std::vector<std::pair<int, int>>& edges() const { return edges_; }

 private:
  std::vector<int> seen_;  // seen_[p] == i: p is already a dependency of i
  std::vector<std::pair<int, int>> edges_;
  int64_t& work_;
};

}  // namespace tg::compile
