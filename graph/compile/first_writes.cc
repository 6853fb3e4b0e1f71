#include "graph/compile/first_writes.h"

#include <algorithm>
#include <iterator>
#include <map>

namespace tg::compile {
namespace {

// The bytes of one buffer written so far, as disjoint [begin, end) intervals by begin.
class WrittenBytes {
 public:
  bool Contains(int64_t lo, int64_t hi) const {
    auto it = AtOrBefore(lo);
    return it != intervals_.end() && it->first <= lo && it->second >= hi;
  }
  bool Disjoint(int64_t lo, int64_t hi) const {
    auto it = intervals_.lower_bound(hi);  // the first interval starting at or after hi
    if (it == intervals_.begin()) return true;
    return std::prev(it)->second <= lo;
  }
  void Add(int64_t lo, int64_t hi) {
    auto it = intervals_.upper_bound(lo);
    if (it != intervals_.begin() && std::prev(it)->second >= lo) {
      --it;
      lo = it->first;
    }
    while (it != intervals_.end() && it->first <= hi) {
      hi = std::max(hi, it->second);
      it = intervals_.erase(it);
    }
    intervals_.emplace(lo, hi);
  }

 private:
  std::map<int64_t, int64_t>::const_iterator AtOrBefore(int64_t at) const {
    auto it = intervals_.upper_bound(at);
    return it == intervals_.begin() ? intervals_.end() : std::prev(it);
  }
  std::map<int64_t, int64_t> intervals_;
};

}  // namespace

SumStarts FindSumStarts(const Program& program) {
  const size_t buffers = program.buffers.size();
  SumStarts s{.clean = std::vector<bool>(buffers, false),
              .fresh = std::vector<bool>(buffers, false),
              .fresh_sum = std::vector<bool>(program.instructions.size(), false)};
  for (size_t b = 0; b < buffers; ++b) {
    s.clean[b] = program.buffers[b].storage == Storage::kPlanned;
  }
  // The host writes feeds and constants and reads outputs: those keep their zeroing.
  auto host = [&](ValueId v) {
    if (program.values[v].buffer >= 0) s.clean[program.values[v].buffer] = false;
  };
  for (ValueId v : program.feeds) host(v);
  for (ValueId v : program.outputs) host(v);
  for (const Constant& c : program.constants) host(c.value);

  std::vector<WrittenBytes> written(buffers);
  for (size_t k = 0; k < program.instructions.size(); ++k) {
    const Instruction& in = program.instructions[k];
    for (ValueId v : in.inputs) {
      const Value& x = program.values[v];
      if (x.buffer >= 0 && s.clean[x.buffer] && !written[x.buffer].Contains(x.offset, x.end())) {
        s.clean[x.buffer] = false;
      }
    }
    const Value& out = program.values[in.output];
    const BufferId b = out.buffer;
    if (b < 0 || !s.clean[b]) continue;
    WrittenBytes& w = written[b];
    if (in.accumulate && !w.Contains(out.offset, out.end())) {
      bool reads_own = false;
      for (ValueId v : in.inputs) reads_own = reads_own || program.Overlap(v, in.output);
      if (reads_own || !w.Disjoint(out.offset, out.end())) {
        s.clean[b] = false;
        continue;
      }
      s.fresh_sum[k] = true;
      s.fresh[b] = true;
    }
    w.Add(out.offset, out.end());
  }
  // Only sums into buffers that stay clean to the end count.
  for (size_t k = 0; k < program.instructions.size(); ++k) {
    const BufferId b = program.values[program.instructions[k].output].buffer;
    if (s.fresh_sum[k] && !s.clean[b]) s.fresh_sum[k] = false;
  }
  for (size_t b = 0; b < buffers; ++b) s.fresh[b] = s.fresh[b] && s.clean[b];
  return s;
}

Program WriteFirstSums(Program program, int64_t* converted) {
  const SumStarts starts = FindSumStarts(program);
  int64_t n = 0;
  for (size_t k = 0; k < program.instructions.size(); ++k) {
    if (!starts.fresh_sum[k]) continue;
    program.instructions[k].accumulate = false;  // a sum into nothing yet is a write
    ++n;
  }
  if (converted != nullptr) *converted = n;
  return program;
}

}  // namespace tg::compile
