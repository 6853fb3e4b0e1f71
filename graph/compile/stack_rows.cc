#include "graph/compile/stack_rows.h"

#include <algorithm>
#include <limits>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/container/inlined_vector.h"
#include "absl/strings/str_cat.h"
#include "graph/compile/buffer_ties.h"
#include "graph/compile/dependencies.h"
#include "graph/compile/stack_groups.h"

namespace tg::compile {
namespace {

void AppendShape(std::string& key, const Shape& s, int from) {
  for (int d = from; d < s.rank(); ++d) absl::StrAppend(&key, ",", s[d]);
  absl::StrAppend(&key, ";");
}

void AppendPlace(std::string& key, const Value& v) {
  absl::StrAppend(&key, "@", v.buffer, ":", v.offset);
}

// Instructions with equal keys may be stacked: same region, op, attributes and facts, the same
// shared operands (the same bytes), row operands alike but for their row counts, and for a sum
// the same output.
std::string StackKey(const Program& p, const Instruction& in, const RowFacts& facts) {
  std::string key = absl::StrCat(in.region, "|", reinterpret_cast<uintptr_t>(in.op), "|",
                                 static_cast<int>(facts.kind), "|", facts.row_operands, "|",
                                 in.attrs->scalar, "|");
  for (int64_t v : in.attrs->ints) absl::StrAppend(&key, v, ",");
  AppendShape(key, in.attrs->shape, 0);
  for (size_t k = 0; k < in.inputs.size(); ++k) {
    const Value& t = p.values[in.inputs[k]];
    absl::StrAppend(&key, static_cast<int>(t.dtype));
    if (Carries(facts.row_operands, k)) {
      absl::StrAppend(&key, "r");
      AppendShape(key, p.shape(in.inputs[k]), 1);
    } else {
      absl::StrAppend(&key, "s");
      AppendPlace(key, t);
      AppendShape(key, p.shape(in.inputs[k]), 0);
    }
  }
  const Value& out = p.values[in.output];
  absl::StrAppend(&key, "o", static_cast<int>(out.dtype));
  if (facts.kind == RowKind::kSummed) {
    AppendPlace(key, out);
    AppendShape(key, p.shape(in.output), 0);
  } else {
    absl::StrAppend(&key, in.accumulate ? "+" : "=");
    AppendShape(key, p.shape(in.output), 1);
  }
  return key;
}

// An op that declares tiles (OpDef::pointwise) is one pass over its operands. Stacked, its T
// members become one pass over T steps' rows, long gone from cache by then; left per step, a
// member reads what its step just made (and an elementwise one joins the step's fused run).
// Stacking pays only for its saved calls, so members this large stay per step -- in the serial
// program: a parallel one (chunk > 0) keeps them stacked, as its placement and schedule were
// measured with.
bool LargePass(const Program& p, const Instruction& in, const RowFacts& facts) {
  if (!in.op->pointwise) return false;
  for (size_t k = 0; k < in.inputs.size(); ++k) {
    if (Carries(facts.row_operands, k) &&
        p.shape(in.inputs[k]).num_elements() >= kLargePassElements) {
      return true;
    }
  }
  return false;
}

bool Stackable(const Program& p, const Instruction& in, const RowFacts& facts) {
  if (facts.kind == RowKind::kNone || facts.row_operands == 0) return false;
  for (size_t k = 0; k < in.inputs.size(); ++k) {
    const ValueId v = in.inputs[k];
    if (Carries(facts.row_operands, k) && (p.shape(v).rank() == 0 || p.values[v].buffer < 0)) {
      return false;
    }
  }
  return facts.kind == RowKind::kSummed ||
         (p.shape(in.output).rank() > 0 && p.values[in.output].buffer >= 0);
}


// The groups to stack, found and tied in `ties`; with chunk > 0, see StackRows.
std::vector<StackGroup> FindGroups(const Program& program, const Dependencies& deps,
                                   GroupBuilder& builder, int chunk) {
  struct Bucket {
    RowFacts facts;
    std::vector<int> members;
  };
  absl::flat_hash_map<std::string, int> index;
  std::vector<Bucket> buckets;
  for (int i = 0; i < static_cast<int>(program.instructions.size()); ++i) {
    const Instruction& in = program.instructions[i];
    if (in.op == nullptr || in.op->rows == nullptr) continue;
    const RowFacts facts = in.op->rows(*in.attrs, TypesOf(program, in));
    if (!Stackable(program, in, facts) || (chunk == 0 && LargePass(program, in, facts))) {
      continue;
    }
    auto [it, inserted] =
        index.try_emplace(StackKey(program, in, facts), static_cast<int>(buckets.size()));
    if (inserted) buckets.push_back({facts, {}});
    buckets[it->second].members.push_back(i);
  }
  if (chunk > 0) {
    // Level: the longest chain of dependencies leading to an instruction.
    std::vector<int> level(program.instructions.size(), 0);
    for (size_t i = 0; i < level.size(); ++i) {
      for (int p : deps.before(static_cast<int>(i))) level[i] = std::max(level[i], level[p] + 1);
    }
    const size_t found = buckets.size();
    for (size_t b = 0; b < found; ++b) {
      std::vector<int>& members = buckets[b].members;
      if (buckets[b].facts.kind != RowKind::kIndependent || members.size() <= size_t(chunk)) {
        continue;
      }
      const auto [low, high] = std::minmax_element(
          members.begin(), members.end(), [&](int x, int y) { return level[x] < level[y]; });
      if (level[*low] == level[*high]) continue;  // all ready at once: one product
      std::vector<int> rest(members.begin() + chunk, members.end());
      members.resize(static_cast<size_t>(chunk));
      for (size_t at = 0; at < rest.size(); at += static_cast<size_t>(chunk)) {
        const size_t end = std::min(rest.size(), at + static_cast<size_t>(chunk));
        buckets.push_back(
            {buckets[b].facts, std::vector<int>(rest.begin() + at, rest.begin() + end)});
      }
    }
  }
  // Independent groups first: their rows are often views with a fixed order (the steps of one
  // input tensor), which the sums then follow. Within each kind, groups whose rows already
  // have an order in memory go first, so that the others follow it: the result does not depend
  // on the order the groups were found in. A round that finds none takes the first left.
  std::vector<StackGroup> groups;
  for (const bool independent : {true, false}) {
    std::vector<Bucket*> pending;
    for (Bucket& bucket : buckets) {
      if ((bucket.facts.kind == RowKind::kIndependent) == independent &&
          bucket.members.size() >= 2) {
        pending.push_back(&bucket);
      }
    }
    auto stack = [&](Bucket& bucket) {
      StackGroup group;
      if (builder.TryStack(std::move(bucket.members), bucket.facts, group)) {
        groups.push_back(std::move(group));
      }
    };
    while (!pending.empty()) {
      std::vector<Bucket*> unordered;
      for (Bucket* bucket : pending) {
        if (builder.HasOrderedSlot(bucket->members, bucket->facts)) {
          stack(*bucket);
        } else {
          unordered.push_back(bucket);
        }
      }
      if (unordered.size() == pending.size()) {  // none had an order: take the first
        stack(*unordered.front());
        unordered.erase(unordered.begin());
      }
      pending = std::move(unordered);
    }
  }
  return groups;
}

// Merges each tied group of buffers into one buffer; returns, per old buffer, its new id and
// its offset inside it.
std::vector<std::pair<BufferId, int64_t>> MergeTiedBuffers(const Program& in,
                                                           const BufferTies& ties,
                                                           Program& out) {
  const size_t n = in.buffers.size();
  std::vector<std::pair<BufferId, int64_t>> found(n);
  std::vector<int64_t> low(n, std::numeric_limits<int64_t>::max());
  std::vector<int64_t> high(n, std::numeric_limits<int64_t>::min());
  for (size_t b = 0; b < n; ++b) {
    found[b] = ties.Find(static_cast<BufferId>(b));
    const auto [root, offset] = found[b];
    low[root] = std::min(low[root], offset);
    high[root] = std::max(high[root], offset + in.buffers[b].bytes);
  }
  std::vector<BufferId> merged(n, -1);
  std::vector<std::pair<BufferId, int64_t>> moved(n);
  for (size_t b = 0; b < n; ++b) {
    const auto [root, offset] = found[b];
    if (merged[root] < 0) {
      Buffer buffer = in.buffers[root];
      buffer.bytes = high[root] - low[root];
      if (buffer.storage == Storage::kExternal) buffer.address += low[root];
      merged[root] = out.AddBuffer(buffer);
    }
    moved[b] = {merged[root], offset - low[root]};
  }
  return moved;
}

}  // namespace

Program StackRows(const Program& program, StackStats* stats, int chunk) {
  const Dependencies deps(program);
  BufferTies ties(program);
  GroupBuilder builder(program, deps, ties);
  const std::vector<StackGroup> groups = FindGroups(program, deps, builder, chunk);

  Program out;
  const std::vector<std::pair<BufferId, int64_t>> moved = MergeTiedBuffers(program, ties, out);
  out.values = program.values;
  for (Value& v : out.values) {
    if (v.buffer < 0) continue;
    v.offset += moved[v.buffer].second;
    v.buffer = moved[v.buffer].first;
  }
  out.feeds = program.feeds;
  out.outputs = program.outputs;
  out.constants = program.constants;
  out.shapes = program.shapes;

  std::vector<int> group_at(program.instructions.size(), -1);
  for (size_t k = 0; k < groups.size(); ++k) group_at[groups[k].at] = static_cast<int>(k);
  int stacked_nodes = 0;
  for (const int i : builder.order()) {
    if (!builder.alive(i)) continue;
    if (group_at[i] < 0) {
      out.instructions.push_back(program.instructions[i]);
      continue;
    }
    // The one instruction doing the group's work: its stacked values start where the first
    // member's do (the members' rows are tied adjacent in that order).
    const StackGroup& g = groups[group_at[i]];
    const Instruction& head = program.instructions[g.members[0]];
    Instruction stacked = head;
    stacked.node = program.instructions[g.at].node;
    stacked.stacked = static_cast<int>(g.members.size());
    stacked_nodes += stacked.stacked;
    for (int slot : StackedSlots(head, g.kind, g.row_operands)) {
      int64_t rows = 0;
      for (int m : g.members) rows += program.shape(SlotValue(program.instructions[m], slot))[0];
      const ValueId first = SlotValue(head, slot);
      const Value v = out.values[first];
      const ValueId id =
          out.AddValue(v.buffer, v.offset, v.dtype, WithRows(program.shape(first), rows));
      if (slot < static_cast<int>(stacked.inputs.size())) {
        stacked.inputs[slot] = id;
      } else {
        stacked.output = id;
      }
    }
    if (g.kind == RowKind::kSummed) {
      stacked.accumulate = std::all_of(g.members.begin(), g.members.end(), [&](int m) {
        return program.instructions[m].accumulate;
      });
    }
    out.instructions.push_back(std::move(stacked));
  }
  if (stats != nullptr) {
    stats->groups = static_cast<int>(groups.size());
    stats->stacked_nodes = stacked_nodes;
    stats->work = deps.work() + ties.work() + builder.work();
  }
  return out;
}

}  // namespace tg::compile
