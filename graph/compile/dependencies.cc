#include "graph/compile/dependencies.h"

#include <iterator>
#include <map>
#include <utility>

namespace tg::compile {
namespace {

enum class Access : uint8_t { kRead, kWrite, kAccumulate };

// Bytes [begin, end) of a buffer, last touched alike.
struct Range {
  int64_t end = 0;
  int writer = -1;                // the last instruction writing them
  std::vector<int> readers;       // reading them since
  std::vector<int> accumulators;  // adding into them since
};

class Scan {
 public:
  Scan(const Program& program, int64_t& work)
      : program_(program), ranges_(program.buffers.size()),
        seen_(program.instructions.size(), -1), work_(work) {}

  // Instruction i's dependencies on earlier ones, appended to `edges` as (before, i).
  void Add(int i, std::vector<std::pair<int, int>>& edges) {
    const Instruction& in = program_.instructions[i];
    for (ValueId v : in.inputs) Touch(i, v, Access::kRead, edges);
    Touch(i, in.output, in.accumulate ? Access::kAccumulate : Access::kWrite, edges);
  }

 private:
  using Ranges = std::map<int64_t, Range>;  // by first byte; they tile the buffer

  // Makes `at` the first byte of a range (inside the buffer); returns that range.
  Ranges::iterator SplitAt(Ranges& ranges, int64_t at) {
    auto it = std::prev(ranges.upper_bound(at));
    if (it->first == at) return it;
    Range tail = it->second;  // the bytes from `at` on were touched as the whole was
    it->second.end = at;
    return ranges.emplace_hint(std::next(it), at, std::move(tail));
  }

  void Touch(int i, ValueId id, Access access, std::vector<std::pair<int, int>>& edges) {
    const Value& v = program_.values[id];
    if (v.buffer < 0 || v.bytes == 0) return;
    Ranges& ranges = ranges_[v.buffer];
    if (ranges.empty()) {
      Range whole;
      whole.end = program_.buffers[v.buffer].bytes;
      ranges.emplace(0, std::move(whole));
    }
    auto first = SplitAt(ranges, v.offset);
    auto last = v.end() < program_.buffers[v.buffer].bytes ? SplitAt(ranges, v.end())
                                                           : ranges.end();
    auto depend = [&](int p) {
      ++work_;
      if (p < 0 || p == i || seen_[p] == i) return;
      seen_[p] = i;
      edges.emplace_back(p, i);
    };
    for (auto it = first; it != last; ++it) {
      ++work_;
      Range& r = it->second;
      depend(r.writer);
      if (access != Access::kRead) {
        for (int p : r.readers) depend(p);
      }
      if (access != Access::kAccumulate) {
        for (int p : r.accumulators) depend(p);
      }
      switch (access) {
        case Access::kRead: r.readers.push_back(i); break;
        case Access::kAccumulate: r.accumulators.push_back(i); break;
        case Access::kWrite:
          r.writer = i;
          r.readers.clear();
          r.accumulators.clear();
          break;
      }
    }
    if (access == Access::kWrite && std::next(first) != last) {
      // The written ranges are alike now: one range, so later accesses visit it once.
      first->second.end = std::prev(last)->second.end;
      ranges.erase(std::next(first), last);
    }
  }

  const Program& program_;
  std::vector<Ranges> ranges_;  // per buffer, made at its first touch
  std::vector<int> seen_;       // seen_[p] == i: p is already a dependency of i
  int64_t& work_;
};

// Offsets of a compressed sparse row form: begin[k] .. begin[k + 1] are row k's entries.
std::vector<int> RowBegins(const std::vector<int>& counts) {
  std::vector<int> begin(counts.size() + 1, 0);
  for (size_t k = 0; k < counts.size(); ++k) begin[k + 1] = begin[k] + counts[k];
  return begin;
}

}  // namespace

Dependencies::Dependencies(const Program& program) {
  const int n = static_cast<int>(program.instructions.size());
  std::vector<std::pair<int, int>> edges;  // (before, after), grouped by `after` ascending
  Scan scan(program, work_);
  for (int i = 0; i < n; ++i) scan.Add(i, edges);
  std::vector<int> before_count(n, 0), after_count(n, 0);
  for (const auto& [p, i] : edges) {
    ++before_count[i];
    ++after_count[p];
  }
  before_begin_ = RowBegins(before_count);
  after_begin_ = RowBegins(after_count);
  before_.resize(edges.size());
  after_.resize(edges.size());
  std::vector<int> before_fill(before_begin_.begin(), before_begin_.end() - 1);
  std::vector<int> after_fill(after_begin_.begin(), after_begin_.end() - 1);
  for (const auto& [p, i] : edges) {
    before_[before_fill[i]++] = p;
    after_[after_fill[p]++] = i;
  }
}

}  // namespace tg::compile
