#include "graph/compile/schedule.h"

#include <algorithm>
#include <array>
#include <iterator>
#include <limits>
#include <map>
#include <utility>

namespace tg::compile {
namespace {

// Bytes [begin, end) of one space, last touched alike.
struct Range {
  int64_t end = 0;
  int writer = -1;           // the last step writing (or accumulating into) them
  std::vector<int> readers;  // reading them since
};

class Scan {
 public:
  Scan(int steps, int64_t& work) : seen_(static_cast<size_t>(steps), -1), work_(work) {
    for (Ranges& r : spaces_) {
      // Fixed addresses are positive numbers; offsets too. One range covers them all.
      Range all;
      all.end = std::numeric_limits<int64_t>::max();
      r.emplace(0, std::move(all));
    }
  }

  // Step k's dependencies on earlier steps, appended to `edges` as (before, k). Reads
  // first: a step that reads and writes the same bytes depends on what both need.
  void Add(int k, const Step& s, std::vector<std::pair<int, int>>& edges) {
    if (!s.fused.empty()) {
      for (const Step& m : s.fused) {
        for (const Operand& o : m.inputs) Touch(k, o, false, edges);
      }
      for (const Step& m : s.fused) Touch(k, m.output, true, edges);
      return;
    }
    for (const Operand& o : s.inputs) Touch(k, o, false, edges);
    Touch(k, s.output, true, edges);  // a write, a sum or a zeroing
  }

 private:
  using Ranges = std::map<int64_t, Range>;  // by first byte; they tile the space

  // Makes `at` the first byte of a range; returns that range.
  Ranges::iterator SplitAt(Ranges& ranges, int64_t at) {
    auto it = std::prev(ranges.upper_bound(at));
    if (it->first == at) return it;
    Range tail = it->second;  // the bytes from `at` on were touched as the whole was
    it->second.end = at;
    return ranges.emplace_hint(std::next(it), at, std::move(tail));
  }

  void Touch(int k, const Operand& o, bool write, std::vector<std::pair<int, int>>& edges) {
    // A fused run's internal values live in its own chunk buffer: nothing else touches them.
    if (o.bytes <= 0 || o.space == Space::kScratch) return;
    Ranges& ranges = spaces_[static_cast<size_t>(o.space)];
    auto first = SplitAt(ranges, o.offset);
    auto last = SplitAt(ranges, o.offset + o.bytes);
    auto depend = [&](int p) {
      ++work_;
      if (p < 0 || p == k || seen_[p] == k) return;
      seen_[p] = k;
      edges.emplace_back(p, k);
    };
    for (auto it = first; it != last; ++it) {
      ++work_;
      Range& r = it->second;
      depend(r.writer);
      if (!write) {
        r.readers.push_back(k);
        continue;
      }
      for (int p : r.readers) depend(p);
      r.writer = k;
      r.readers.clear();
    }
    if (write && std::next(first) != last) {
      // The written ranges are alike now: one range, so later accesses visit it once.
      first->second.end = std::prev(last)->second.end;
      ranges.erase(std::next(first), last);
    }
  }

  std::array<Ranges, 3> spaces_;  // by Space
  std::vector<int> seen_;         // seen_[p] == k: p is already a dependency of k
  int64_t& work_;
};

}  // namespace

Schedule BuildSchedule(absl::Span<const Step> steps) {
  Schedule s;
  const int n = static_cast<int>(steps.size());
  std::vector<std::pair<int, int>> edges;  // (before, after), grouped by `after` ascending
  Scan scan(n, s.work);
  for (int k = 0; k < n; ++k) scan.Add(k, steps[k], edges);
  s.predecessors.assign(n, 0);
  std::vector<int32_t> after_count(n, 0);
  for (const auto& [p, k] : edges) {
    ++s.predecessors[k];
    ++after_count[p];
  }
  s.successor_begin.assign(n + 1, 0);
  for (int k = 0; k < n; ++k) s.successor_begin[k + 1] = s.successor_begin[k] + after_count[k];
  s.successors.resize(edges.size());
  std::vector<int32_t> fill(s.successor_begin.begin(), s.successor_begin.end() - 1);
  // Edges come grouped by increasing `after`, so each list ends up in increasing order.
  for (const auto& [p, k] : edges) s.successors[fill[p]++] = k;
  s.chain.assign(n, 1);
  for (int k = n - 1; k >= 0; --k) {
    for (int32_t j : s.after(k)) s.chain[k] = std::max(s.chain[k], s.chain[j] + 1);
  }
  return s;
}

bool Schedule::Reaches(int from, int to) const {
  if (from == to) return true;
  if (from > to) return false;  // every dependency points forward in program order
  std::vector<bool> seen(static_cast<size_t>(to) + 1, false);
  std::vector<int> stack = {from};
  while (!stack.empty()) {
    const int k = stack.back();
    stack.pop_back();
    for (int32_t j : after(k)) {
      if (j == to) return true;
      if (j < to && !seen[j]) {
        seen[j] = true;
        stack.push_back(j);
      }
    }
  }
  return false;
}

}  // namespace tg::compile
