#include "graph/compile/stack_rows.h"

#include <algorithm>
#include <limits>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/container/inlined_vector.h"
#include "absl/strings/str_cat.h"
#include "graph/compile/buffer_ties.h"
#include "graph/compile/dependencies.h"

namespace tg::compile {
namespace {

// Instructions whose work becomes one stacked instruction.
struct Group {
  std::vector<int> members;  // instruction indices in stacking order
  int at = -1;               // the member whose place the stacked instruction takes
  RowKind kind = RowKind::kNone;
  uint32_t row_operands = 0;  // bit k: operand k is stacked (the others are shared)
};

bool Carries(uint32_t row_operands, size_t k) { return k < 32 && ((row_operands >> k) & 1u); }

absl::InlinedVector<TensorType, 3> TypesOf(const Program& p, const Instruction& in) {
  absl::InlinedVector<TensorType, 3> types;
  for (ValueId v : in.inputs) types.push_back({p.values[v].dtype, p.shape(v)});
  return types;
}

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

Shape WithRows(Shape s, int64_t rows) {
  s[0] = rows;
  return s;
}

// The values stacked along rows: slot k < inputs is operand k, slot == inputs the output.
std::vector<int> StackedSlots(const Instruction& in, RowKind kind, uint32_t row_operands) {
  std::vector<int> slots;
  for (size_t k = 0; k < in.inputs.size(); ++k) {
    if (Carries(row_operands, k)) slots.push_back(static_cast<int>(k));
  }
  if (kind == RowKind::kIndependent) slots.push_back(static_cast<int>(in.inputs.size()));
  return slots;
}

ValueId SlotValue(const Instruction& in, int slot) {
  return slot < static_cast<int>(in.inputs.size()) ? in.inputs[slot] : in.output;
}

class GroupBuilder {
 public:
  GroupBuilder(const Program& program, const Dependencies& deps, BufferTies& ties)
      : program_(program), deps_(deps), ties_(ties),
        order_(program.instructions.size()), position_(program.instructions.size()),
        folded_into_(program.instructions.size(), -1), alive_(program.instructions.size(), true),
        in_group_(program.instructions.size(), false), seen_(program.instructions.size(), 0) {
    for (size_t i = 0; i < position_.size(); ++i) {
      order_[i] = static_cast<int>(i);
      position_[i] = static_cast<int>(i);
    }
  }

  // Members come in program order; on success they are folded into one.
  bool TryStack(std::vector<int> members, const RowFacts& facts, Group& out) {
    for (int m : members) in_group_[m] = true;
    const int at = Placement(members, facts.kind, facts.row_operands);
    bool ok = false;
    if (at >= 0 && ShapesAgree(members, facts)) {
      for (std::vector<int>& order : Orders(members, facts)) {
        if (TieRows(order, facts)) {
          members = std::move(order);
          ok = true;
          break;
        }
      }
    }
    for (int m : members) in_group_[m] = false;
    if (!ok) return false;
    for (int m : members) {
      if (m != at) alive_[m] = false;
      folded_into_[m] = at;
      position_[m] = position_[at];  // a folded member's work runs where the group does
    }
    if (!deferred_.empty()) Defer(at);
    out = {.members = std::move(members), .at = at, .kind = facts.kind,
           .row_operands = facts.row_operands};
    return true;
  }

  bool alive(int i) const { return alive_[i]; }
  // The instructions in the order they run after stacking (folded members included).
  const std::vector<int>& order() const { return order_; }

  // Whether the values of some stacked slot already lie in one tied group, which then fixes the
  // members' order.
  bool HasOrderedSlot(const std::vector<int>& members, const RowFacts& facts) {
    for (int slot : StackedSlots(At(members[0]), facts.kind, facts.row_operands)) {
      BufferId root = -1;
      bool one = true;
      for (int m : members) {
        ++work_;
        const BufferId r = ties_.Find(program_.values[SlotValue(At(m), slot)].buffer).first;
        if (root >= 0 && r != root) {
          one = false;
          break;
        }
        root = r;
      }
      if (one) return true;
    }
    return false;
  }
  int64_t work() const { return work_; }

 private:
  const Instruction& At(int i) const { return program_.instructions[i]; }

  // The member whose place the stacked instruction can take, or -1. Members of a sum may
  // touch their shared output in any order; anything else between members forbids stacking.
  int Placement(const std::vector<int>& members, RowKind kind, uint32_t row_operands) {
    if (kind == RowKind::kSummed) {
      const ValueId out = At(members[0]).output;
      for (int m : members) {
        for (ValueId v : At(m).inputs) {
          ++work_;
          if (program_.Overlap(v, out)) return -1;  // reads the sum itself
        }
      }
    }
    const int first = members.front(), last = members.back();
    bool before_first = true, after_last = true;
    for (int m : members) {
      for (int p : deps_.before(m)) {
        ++work_;
        if (in_group_[p]) {
          if (kind == RowKind::kIndependent) return -1;
          continue;
        }
        before_first &= position_[p] < position_[first];
      }
      for (int s : deps_.after(m)) {
        ++work_;
        if (in_group_[s]) continue;
        after_last &= position_[s] > position_[last];
      }
    }
    deferred_.clear();
    if (before_first) return first;
    if (after_last || (HasSharedOperand(members[0], row_operands) &&
                       CanDeferReadersPast(members, last))) {
      return last;
    }
    return -1;
  }

  // Whether instruction i reads an operand that is not stacked (a weight): what makes one
  // stacked kernel pay for keeping every member's result until the last member's place.
  bool HasSharedOperand(int i, uint32_t row_operands) const {
    for (size_t k = 0; k < At(i).inputs.size(); ++k) {
      if (!Carries(row_operands, k)) return true;
    }
    return false;
  }

  // Whether what reads the members' results before `last` -- and everything that depends on
  // that, up to `last` -- can run after it instead (each step's input gradient copied into its
  // slice of the whole gradient, once the steps' products are one). Collects those
  // instructions in deferred_. Refused when one of them leads to a member (a cycle) or belongs
  // to a stacked group (its other members' readers would have to move too).
  bool CanDeferReadersPast(const std::vector<int>& members, int last) {
    ++epoch_;
    std::vector<int> pending;
    auto reach = [&](int s) {
      ++work_;
      if (in_group_[s]) return false;  // the last member included: it would run before s
      if (position_[s] > position_[last] || seen_[s] == epoch_) return true;
      if (folded_into_[s] >= 0) return false;
      seen_[s] = epoch_;
      pending.push_back(s);
      return true;
    };
    for (int m : members) {
      for (int s : deps_.after(m)) {
        if (!reach(s)) return false;
      }
    }
    while (!pending.empty()) {
      const int x = pending.back();
      pending.pop_back();
      deferred_.push_back(x);
      for (int s : deps_.after(x)) {
        if (!reach(s)) return false;
      }
    }
    return true;
  }

  // Moves deferred_ (in their present order) right after the group's instruction at `at`.
  void Defer(int at) {
    std::sort(deferred_.begin(), deferred_.end(),
              [&](int a, int b) { return position_[a] < position_[b]; });
    std::vector<int> order;
    order.reserve(order_.size());
    ++epoch_;
    for (int x : deferred_) seen_[x] = epoch_;
    for (int i : order_) {
      if (seen_[i] == epoch_) continue;
      order.push_back(i);
      if (i == at) order.insert(order.end(), deferred_.begin(), deferred_.end());
    }
    order_ = std::move(order);
    for (size_t k = 0; k < order_.size(); ++k) position_[order_[k]] = static_cast<int>(k);
    for (int i : order_) {
      if (folded_into_[i] >= 0) position_[i] = position_[folded_into_[i]];
    }
    work_ += static_cast<int64_t>(order_.size());
    deferred_.clear();
  }

  // The op itself must accept the stacked operands and give the stacked (or the same) output.
  bool ShapesAgree(const std::vector<int>& members, const RowFacts& facts) {
    const Instruction& head = At(members[0]);
    absl::InlinedVector<TensorType, 3> types = TypesOf(program_, head);
    for (size_t k = 0; k < types.size(); ++k) {
      if (!Carries(facts.row_operands, k)) continue;
      int64_t rows = 0;
      for (int m : members) rows += program_.shape(At(m).inputs[k])[0];
      types[k].shape = WithRows(types[k].shape, rows);
    }
    int64_t out_rows = 0;
    for (int m : members) {
      const Shape& s = program_.shape(At(m).output);
      out_rows += s.rank() > 0 ? s[0] : 0;
    }
    const Value& out = program_.values[head.output];
    const Shape& out_shape = program_.shape(head.output);
    absl::StatusOr<TensorType> inferred = head.op->infer(types, *head.attrs);
    if (!inferred.ok() || inferred->dtype != out.dtype) return false;
    const Shape want =
        facts.kind == RowKind::kSummed ? out_shape : WithRows(out_shape, out_rows);
    return inferred->shape == want;
  }

  // The orders to stack the members in, to try one after the other. If the values of some
  // stacked slot already sit in one tied group (steps split out of one [T,B,I] tensor, or rows
  // tied by an earlier group), the order they have in memory; then, for each slot, the order
  // its values were made in (ids, never addresses) -- the first that the ties already made
  // allow wins, so that the sums over h_t of different weight gradients agree on one order
  // of the h_t whichever group comes first.
  std::vector<std::vector<int>> Orders(const std::vector<int>& members, const RowFacts& facts) {
    const std::vector<int> slots = StackedSlots(At(members[0]), facts.kind, facts.row_operands);
    std::vector<std::vector<int>> orders;
    for (int slot : slots) {
      std::vector<std::pair<int64_t, int>> where;
      BufferId root = -1;
      for (int m : members) {
        ++work_;
        const Value& v = program_.values[SlotValue(At(m), slot)];
        auto [r, offset] = ties_.Find(v.buffer);
        if (root >= 0 && r != root) break;
        root = r;
        where.push_back({offset + v.offset, m});
      }
      if (where.size() != members.size()) continue;
      std::sort(where.begin(), where.end());
      std::vector<int>& order = orders.emplace_back();
      for (const auto& [offset, m] : where) order.push_back(m);
      break;
    }
    for (int slot : slots) {
      // (std::sort with the index as a tie-break rather than std::stable_sort, whose temporary
      // buffer the clang-16 ASan build reported as freed with free().)
      std::vector<int>& order = orders.emplace_back(members);
      std::sort(order.begin(), order.end(), [&](int a, int b) {
        const ValueId va = SlotValue(At(a), slot), vb = SlotValue(At(b), slot);
        return va != vb ? va < vb : a < b;
      });
      work_ += static_cast<int64_t>(members.size());
    }
    return orders;
  }

  bool TieRows(const std::vector<int>& members, const RowFacts& facts) {
    const size_t mark = ties_.Mark();
    for (int slot : StackedSlots(At(members[0]), facts.kind, facts.row_operands)) {
      for (size_t i = 0; i + 1 < members.size(); ++i) {
        const Value& a = program_.values[SlotValue(At(members[i]), slot)];
        const Value& b = program_.values[SlotValue(At(members[i + 1]), slot)];
        if (!ties_.Tie(a.buffer, b.buffer, a.end() - b.offset)) {
          ties_.Undo(mark);
          return false;
        }
      }
    }
    return true;
  }

  const Program& program_;
  const Dependencies& deps_;
  BufferTies& ties_;
  std::vector<int> order_;     // the instructions in the order they run
  std::vector<int> position_;  // where instruction i's work runs
  std::vector<int> folded_into_;  // the member whose place i's group took; -1: not stacked
  std::vector<bool> alive_;    // false: folded into another member's stacked instruction
  std::vector<bool> in_group_;
  std::vector<int> deferred_;  // readers the group being tried moves past its last member
  std::vector<uint32_t> seen_;  // == epoch_: visited in the current walk
  uint32_t epoch_ = 0;
  int64_t work_ = 0;
};

// The groups to stack, found and tied in `ties`; with chunk > 0, see StackRows.
std::vector<Group> FindGroups(const Program& program, const Dependencies& deps,
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
    if (!Stackable(program, in, facts)) continue;
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
  std::vector<Group> groups;
  for (const bool independent : {true, false}) {
    std::vector<Bucket*> pending;
    for (Bucket& bucket : buckets) {
      if ((bucket.facts.kind == RowKind::kIndependent) == independent &&
          bucket.members.size() >= 2) {
        pending.push_back(&bucket);
      }
    }
    auto stack = [&](Bucket& bucket) {
      Group group;
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
  const std::vector<Group> groups = FindGroups(program, deps, builder, chunk);

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
    const Group& g = groups[group_at[i]];
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
