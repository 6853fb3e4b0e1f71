#include "graph/compile/recompute.h"

#include <algorithm>

namespace tg::compile {
namespace {

constexpr int kNone = -1;    // no instruction of any segment writes the buffer
constexpr int kShared = -2;  // written outside one segment, or the host's

}  // namespace

Program CutAtCheckpoints(Program p, bool recompute, RecomputeStats* stats) {
  const std::vector<NodeId>& ends = p.checkpoint_ends;
  if (ends.empty()) return p;
  const int segments = static_cast<int>(ends.size());  // segment `segments` is the tail
  const int n = static_cast<int>(p.instructions.size());
  auto is_backward = [&](const Instruction& in) { return in.node >= p.backward_start; };

  // The forward instructions' segments, and the buffers one segment alone writes: a copy of the
  // segment can make them again.
  std::vector<int> segment(n, kNone);
  std::vector<int> maker(p.buffers.size(), kNone);
  for (int i = 0; i < n; ++i) {
    const Instruction& in = p.instructions[i];
    if (!is_backward(in)) {
      segment[i] = static_cast<int>(std::lower_bound(ends.begin(), ends.end(), in.node) -
                                    ends.begin());
    }
    const BufferId b = p.values[in.output].buffer;
    if (b < 0) continue;
    const int s = segment[i] == kNone || segment[i] == segments ? kShared : segment[i];
    maker[b] = maker[b] == kNone || maker[b] == s ? s : kShared;
  }
  auto host = [&](ValueId v) {
    if (p.values[v].buffer >= 0) maker[p.values[v].buffer] = kShared;
  };
  for (size_t b = 0; b < p.buffers.size(); ++b) {
    if (p.buffers[b].storage != Storage::kPlanned) maker[b] = kShared;
  }
  for (ValueId v : p.feeds) host(v);
  for (ValueId v : p.outputs) host(v);
  for (const Constant& c : p.constants) host(c.value);
  auto made_by = [&](ValueId v) {
    const BufferId b = p.values[v].buffer;
    return b < 0 ? kShared : maker[b];
  };
  // The buffers only their segment reads in the forward, checkpoints aside: what the backward
  // needs made again. Others (checkpoints, values other forward work reads) are kept anyway,
  // and the backward reads them where they are until a copy exists.
  std::vector<bool> internal(p.buffers.size());
  for (size_t b = 0; b < p.buffers.size(); ++b) internal[b] = maker[b] >= 0;
  for (ValueId v : p.checkpoints) {
    if (p.values[v].buffer >= 0) internal[p.values[v].buffer] = false;
  }
  for (int i = 0; i < n; ++i) {
    if (segment[i] == kNone) continue;
    for (ValueId v : p.instructions[i].inputs) {
      if (made_by(v) >= 0 && made_by(v) != segment[i]) internal[p.values[v].buffer] = false;
    }
  }

  // Regions: the forward's are its segments; the backward's begin where a segment is first
  // needed again.
  std::vector<int> first_read(segments, -1);  // the backward instruction that needs it first
  int region = segments;
  for (int i = 0; i < n; ++i) {
    Instruction& in = p.instructions[i];
    if (!is_backward(in)) {
      in.region = segment[i];
      continue;
    }
    bool starts = false;
    for (ValueId v : in.inputs) {
      const int s = made_by(v);
      if (s >= 0 && internal[p.values[v].buffer] && first_read[s] < 0) {
        first_read[s] = i;
        starts = true;
      }
    }
    if (starts) ++region;
    in.region = region + 1;
  }
  RecomputeStats counted{.segments = segments};
  if (recompute) {
    // A segment is copied whole -- every instruction whose buffer it alone writes -- so that
    // the copy depends on itself as the original did, and time batching stacks it alike.
    std::vector<std::vector<ValueId>> in_buffer(p.buffers.size());
    for (ValueId v = 0; v < static_cast<ValueId>(p.values.size()); ++v) {
      if (made_by(v) >= 0) in_buffer[p.values[v].buffer].push_back(v);
    }
    std::vector<std::vector<int>> members(segments);
    for (int i = 0; i < n; ++i) {
      if (segment[i] >= 0 && segment[i] < segments) members[segment[i]].push_back(i);
    }
    std::vector<ValueId> copy(p.values.size(), -1);
    std::vector<BufferId> copied(p.buffers.size(), -1);
    auto copy_value = [&](ValueId v) {
      const BufferId b = p.values[v].buffer;
      if (copied[b] < 0) {
        copied[b] = p.AddBuffer({.bytes = p.buffers[b].bytes});
        for (ValueId w : in_buffer[b]) {
          const Value old = p.values[w];
          copy[w] = p.AddValue(copied[b], old.offset, old.dtype, p.shapes[old.shape], old.node);
        }
      }
      return copy[v];
    };
    auto read = [&](ValueId v) { return copy[v] >= 0 ? copy[v] : v; };
    std::vector<Instruction> out;
    out.reserve(p.instructions.size());
    for (int i = 0; i < n; ++i) {
      Instruction in = p.instructions[i];
      for (int s = 0; s < segments; ++s) {
        if (first_read[s] != i) continue;
        ++counted.recomputed;
        for (int m : members[s]) {
          const Instruction& original = p.instructions[m];
          if (made_by(original.output) != s) continue;  // the host's: kept as it is
          Instruction again = original;
          for (ValueId& v : again.inputs) v = read(v);
          again.output = copy_value(original.output);
          again.region = in.region;
          out.push_back(std::move(again));
          ++counted.copies;
        }
      }
      if (is_backward(in)) {  // only where the original died: kept values are read as kept
        for (ValueId& v : in.inputs) {
          if (made_by(v) >= 0 && internal[p.values[v].buffer]) v = read(v);
        }
      }
      out.push_back(std::move(in));
    }
    p.instructions = std::move(out);
  }
  if (stats != nullptr) *stats = counted;
  return p;
}

}  // namespace tg::compile
