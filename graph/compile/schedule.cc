#include "graph/compile/schedule.h"

#include <algorithm>
#include <array>
#include <iterator>
#include <limits>
#include <map>
#include <utility>

#include "graph/compile/byte_ranges.h"

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
  Scan(int steps, int64_t& work) : edges_(steps, work), work_(work) {
    for (Ranges& r : spaces_) {
      // Fixed addresses are positive numbers; offsets too. One range covers them all.
      Range all;
      all.end = std::numeric_limits<int64_t>::max();
      r.emplace(0, std::move(all));
    }
  }

  // Step k's dependencies on earlier steps, added as (before, k). Reads first: a step that
  // reads and writes the same bytes depends on what both need.
  void Add(int k, const Step& s) {
    if (!s.fused.empty()) {
      for (const Step& m : s.fused) {
        for (const Operand& o : m.inputs) Touch(k, o, false);
      }
      for (const Step& m : s.fused) Touch(k, m.output, true);
      return;
    }
    for (const Operand& o : s.inputs) Touch(k, o, false);
    Touch(k, s.output, true);  // a write, a sum or a zeroing
  }

  const std::vector<std::pair<int, int>>& edges() const { return edges_.edges(); }

 private:
  using Ranges = ByteRanges<Range>;  // they tile the space

  void Touch(int k, const Operand& o, bool write) {
    // A fused run's internal values live in its own chunk buffer: nothing else touches them.
    if (o.bytes <= 0 || o.space == Space::kScratch) return;
    Ranges& ranges = spaces_[static_cast<size_t>(o.space)];
    auto first = SplitRangeAt(ranges, o.offset);
    auto last = SplitRangeAt(ranges, o.offset + o.bytes);
    auto depend = [&](int p) { edges_.Add(p, k); };
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
    if (write) JoinWrittenRanges(ranges, first, last);
  }

  std::array<Ranges, 3> spaces_;  // by Space
  DependencyEdges edges_;
  int64_t& work_;
};

}  // namespace

Schedule BuildSchedule(absl::Span<const Step> steps) {
  Schedule s;
  const int n = static_cast<int>(steps.size());
  Scan scan(n, s.work);
  for (int k = 0; k < n; ++k) scan.Add(k, steps[k]);
  const std::vector<std::pair<int, int>>& edges = scan.edges();  // grouped by `after`
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
