#include "graph/compile/dependencies.h"

#include <iterator>
#include <map>
#include <utility>

#include "graph/compile/byte_ranges.h"

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
        edges_(static_cast<int>(program.instructions.size()), work), work_(work) {}

  // Instruction i's dependencies on earlier ones, added as (before, i).
  void Add(int i) {
    const Instruction& in = program_.instructions[i];
    for (ValueId v : in.inputs) Touch(i, v, Access::kRead);
    Touch(i, in.output, in.accumulate ? Access::kAccumulate : Access::kWrite);
  }

  const std::vector<std::pair<int, int>>& edges() const { return edges_.edges(); }

 private:
  using Ranges = ByteRanges<Range>;  // they tile the buffer

  void Touch(int i, ValueId id, Access access) {
    const Value& v = program_.values[id];
    if (v.buffer < 0 || v.bytes == 0) return;
    Ranges& ranges = ranges_[v.buffer];
    if (ranges.empty()) {
      Range whole;
      whole.end = program_.buffers[v.buffer].bytes;
      ranges.emplace(0, std::move(whole));
    }
    auto first = SplitRangeAt(ranges, v.offset);
    auto last = v.end() < program_.buffers[v.buffer].bytes ? SplitRangeAt(ranges, v.end())
                                                           : ranges.end();
    auto depend = [&](int p) { edges_.Add(p, i); };
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
    if (access == Access::kWrite) JoinWrittenRanges(ranges, first, last);
  }

  const Program& program_;
  std::vector<Ranges> ranges_;  // per buffer, made at its first touch
  DependencyEdges edges_;
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
  Scan scan(program, work_);
  for (int i = 0; i < n; ++i) scan.Add(i);
  const std::vector<std::pair<int, int>>& edges = scan.edges();  // grouped by `after`
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
