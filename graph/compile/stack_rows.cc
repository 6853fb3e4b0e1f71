#include "graph/compile/stack_rows.h"

#include <algorithm>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/container/inlined_vector.h"
#include "absl/strings/str_cat.h"

namespace tg::compile {
namespace {

absl::InlinedVector<TensorType, 3> TypesOf(const Instruction& in) {
  absl::InlinedVector<TensorType, 3> types;
  for (const Tensor& t : in.inputs) types.push_back({t.dtype(), t.shape()});
  return types;
}

bool Carries(uint32_t row_operands, size_t k) { return (row_operands >> k) & 1u; }

void AppendShape(std::string& key, const Shape& s, int from) {
  for (int d = from; d < s.rank(); ++d) absl::StrAppend(&key, ",", s[d]);
  absl::StrAppend(&key, ";");
}

// Instructions with equal keys may be stacked: same op, attributes and facts, the same shared
// operands (by address), row operands alike but for their row counts, and for a sum the
// same output.
std::string StackKey(const Instruction& in, const RowFacts& facts) {
  std::string key = absl::StrCat(reinterpret_cast<uintptr_t>(in.op), "|",
                                 static_cast<int>(facts.kind), "|", facts.row_operands, "|",
                                 in.attrs.scalar, "|");
  for (int64_t v : in.attrs.ints) absl::StrAppend(&key, v, ",");
  AppendShape(key, in.attrs.shape, 0);
  for (size_t k = 0; k < in.inputs.size(); ++k) {
    const Tensor& t = in.inputs[k];
    absl::StrAppend(&key, static_cast<int>(t.dtype()));
    if (Carries(facts.row_operands, k)) {
      absl::StrAppend(&key, "r");
      AppendShape(key, t.shape(), 1);
    } else {
      absl::StrAppend(&key, "s", reinterpret_cast<uintptr_t>(t.raw()));
      AppendShape(key, t.shape(), 0);
    }
  }
  absl::StrAppend(&key, "o", static_cast<int>(in.output.dtype()));
  if (facts.kind == RowKind::kSummed) {
    absl::StrAppend(&key, reinterpret_cast<uintptr_t>(in.output.raw()));
    AppendShape(key, in.output.shape(), 0);
  } else {
    absl::StrAppend(&key, in.accumulate ? "+" : "=");
    AppendShape(key, in.output.shape(), 1);
  }
  return key;
}

bool Stackable(const Instruction& in, const RowFacts& facts) {
  if (facts.kind == RowKind::kNone || facts.row_operands == 0) return false;
  for (size_t k = 0; k < in.inputs.size(); ++k) {
    if (Carries(facts.row_operands, k) && in.inputs[k].shape().rank() == 0) return false;
  }
  return facts.kind == RowKind::kSummed || in.output.shape().rank() > 0;
}

Shape WithRows(Shape s, int64_t rows) {
  s[0] = rows;
  return s;
}

// The tensors stacked along rows: slot k < inputs is operand k, slot == inputs the output.
std::vector<int> StackedSlots(const Instruction& in, const RowFacts& facts) {
  std::vector<int> slots;
  for (size_t k = 0; k < in.inputs.size(); ++k) {
    if (Carries(facts.row_operands, k)) slots.push_back(static_cast<int>(k));
  }
  if (facts.kind == RowKind::kIndependent) slots.push_back(static_cast<int>(in.inputs.size()));
  return slots;
}

const Tensor& SlotTensor(const Instruction& in, int slot) {
  return slot < static_cast<int>(in.inputs.size()) ? in.inputs[slot] : in.output;
}

class GroupBuilder {
 public:
  GroupBuilder(const Program& program, const Dependencies& deps, const BufferMap& buffers,
               MemoryPlan& plan, std::vector<int>& position, std::vector<bool>& alive)
      : program_(program), deps_(deps), buffers_(buffers), plan_(plan), position_(position),
        alive_(alive), in_group_(program.size(), false) {}

  // Members come in position order; on success they are folded into one.
  bool TryStack(std::vector<int> members, const RowFacts& facts, StackedGroup& out) {
    for (int m : members) in_group_[m] = true;
    int at = Placement(members, facts.kind);
    bool ok = at >= 0 && ShapesAgree(members, facts);
    if (ok) {
      OrderByMemory(members, facts);
      ok = TieRows(members, facts);
    }
    for (int m : members) in_group_[m] = false;
    if (!ok) return false;
    for (int m : members) {
      if (m != at) alive_[m] = false;
      position_[m] = position_[at];
    }
    out = {.members = std::move(members), .at = at, .kind = facts.kind,
           .row_operands = facts.row_operands};
    return true;
  }

 private:
  // The member whose place the stacked instruction can take, or -1. Members of a sum may
  // touch their shared output in any order; anything else between members forbids stacking.
  int Placement(const std::vector<int>& members, RowKind kind) {
    if (kind == RowKind::kSummed) {
      const ByteRange out = RangeOf(program_[members[0]].output);
      for (int m : members) {
        for (const Tensor& t : program_[m].inputs) {
          const ByteRange r = RangeOf(t);
          if (r.begin < out.end && out.begin < r.end) return -1;  // reads the sum itself
        }
      }
    }
    const int first = members.front(), last = members.back();
    bool before_first = true, after_last = true;
    for (int m : members) {
      for (int p : deps_.before(m)) {
        if (!alive_[p]) continue;
        if (in_group_[p]) {
          if (kind == RowKind::kIndependent) return -1;
          continue;
        }
        before_first &= position_[p] < position_[first];
      }
      for (int s : deps_.after(m)) {
        if (!alive_[s] || in_group_[s]) continue;
        after_last &= position_[s] > position_[last];
      }
    }
    return before_first ? first : after_last ? last : -1;
  }

  // The op itself must accept the stacked operands and give the stacked (or the same) output.
  bool ShapesAgree(const std::vector<int>& members, const RowFacts& facts) {
    const Instruction& head = program_[members[0]];
    absl::InlinedVector<TensorType, 3> types = TypesOf(head);
    int64_t out_rows = 0;
    for (size_t k = 0; k < types.size(); ++k) {
      if (!Carries(facts.row_operands, k)) continue;
      int64_t rows = 0;
      for (int m : members) rows += program_[m].inputs[k].shape()[0];
      types[k].shape = WithRows(types[k].shape, rows);
    }
    for (int m : members) {
      const Shape& s = program_[m].output.shape();
      out_rows += s.rank() > 0 ? s[0] : 0;
    }
    absl::StatusOr<TensorType> inferred = head.op->infer(types, head.attrs);
    if (!inferred.ok() || inferred->dtype != head.output.dtype()) return false;
    const Shape want = facts.kind == RowKind::kSummed ? head.output.shape()
                                                      : WithRows(head.output.shape(), out_rows);
    return inferred->shape == want;
  }

  // If some stacked tensors already sit in one tied group (steps split out of one [T,B,I]
  // tensor, or rows tied by an earlier group), the members follow their order in memory.
  // Otherwise they follow the recorded addresses of their first stacked operand: the order
  // its values were made in, forward in time even for backward work, so that the sums over
  // h_t of different weight gradients agree on one order of the h_t.
  void OrderByMemory(std::vector<int>& members, const RowFacts& facts) {
    const std::vector<int> slots = StackedSlots(program_[members[0]], facts);
    std::stable_sort(members.begin(), members.end(), [&](int a, int b) {
      return SlotTensor(program_[a], slots[0]).raw() < SlotTensor(program_[b], slots[0]).raw();
    });
    for (int slot : slots) {
      std::vector<std::pair<int64_t, int>> where;
      int root = -2;
      for (int m : members) {
        const Tensor& t = SlotTensor(program_[m], slot);
        const int b = buffers_.Find(t);
        if (b < 0) return;
        auto [r, off] = plan_.Find(b);
        if (root != -2 && r != root) break;
        root = r;
        where.push_back({off + buffers_.OffsetIn(b, t), m});
      }
      if (where.size() != members.size()) continue;
      std::sort(where.begin(), where.end());
      for (size_t i = 0; i < members.size(); ++i) members[i] = where[i].second;
      return;
    }
  }

  bool TieRows(const std::vector<int>& members, const RowFacts& facts) {
    MemoryPlan::Snapshot saved = plan_.Save();
    for (int slot : StackedSlots(program_[members[0]], facts)) {
      for (size_t i = 0; i + 1 < members.size(); ++i) {
        const Tensor& a = SlotTensor(program_[members[i]], slot);
        const Tensor& b = SlotTensor(program_[members[i + 1]], slot);
        const int ba = buffers_.Find(a), bb = buffers_.Find(b);
        if (ba < 0 || bb < 0 ||
            !plan_.Tie(ba, bb, buffers_.OffsetIn(ba, a) + static_cast<int64_t>(a.num_bytes()) -
                                   buffers_.OffsetIn(bb, b))) {
          plan_.Restore(std::move(saved));
          return false;
        }
      }
    }
    return true;
  }

  const Program& program_;
  const Dependencies& deps_;
  const BufferMap& buffers_;
  MemoryPlan& plan_;
  std::vector<int>& position_;
  std::vector<bool>& alive_;
  std::vector<bool> in_group_;
};

}  // namespace

std::vector<StackedGroup> StackRows(const Program& program, const Dependencies& deps,
                                    const BufferMap& buffers, MemoryPlan& plan,
                                    std::vector<int>& position, std::vector<bool>& alive) {
  struct Bucket {
    RowFacts facts;
    std::vector<int> members;
  };
  absl::flat_hash_map<std::string, int> index;
  std::vector<Bucket> buckets;
  for (int i = 0; i < static_cast<int>(program.size()); ++i) {
    const Instruction& in = program[i];
    if (!alive[i] || in.op == nullptr || in.op->rows == nullptr) continue;
    const RowFacts facts = in.op->rows(in.attrs, TypesOf(in));
    if (!Stackable(in, facts)) continue;
    auto [it, inserted] = index.try_emplace(StackKey(in, facts), static_cast<int>(buckets.size()));
    if (inserted) buckets.push_back({facts, {}});
    buckets[it->second].members.push_back(i);
  }
  // Independent groups first: their rows are often views with a fixed order (the steps of one
  // input tensor), which the sums then follow.
  // (Two passes rather than std::stable_sort, whose temporary buffer ASan reported as freed
  // with free() in the clang-16 sanitizer build.)
  std::vector<Bucket> ordered;
  ordered.reserve(buckets.size());
  for (const bool independent : {true, false}) {
    for (Bucket& b : buckets) {
      if ((b.facts.kind == RowKind::kIndependent) == independent) ordered.push_back(std::move(b));
    }
  }
  buckets = std::move(ordered);
  GroupBuilder builder(program, deps, buffers, plan, position, alive);
  std::vector<StackedGroup> groups;
  for (Bucket& bucket : buckets) {
    if (bucket.members.size() < 2) continue;
    StackedGroup group;
    if (builder.TryStack(bucket.members, bucket.facts, group)) groups.push_back(std::move(group));
  }
  return groups;
}

Instruction StackedInstruction(const Program& program, const StackedGroup& group,
                               const MemoryPlan& plan) {
  const Instruction& head = program[group.members[0]];
  Instruction out = head;
  out.node = program[group.at].node;
  out.stacked = static_cast<int>(group.members.size());
  const RowFacts facts{group.kind, group.row_operands};
  for (int slot : StackedSlots(head, facts)) {
    int64_t rows = 0;
    for (int m : group.members) rows += SlotTensor(program[m], slot).shape()[0];
    Tensor first = plan.Translate(SlotTensor(head, slot));
    Tensor stacked(first.raw(), first.dtype(), WithRows(first.shape(), rows));
    if (slot < static_cast<int>(out.inputs.size())) {
      out.inputs[slot] = stacked;
    } else {
      out.output = stacked;
    }
  }
  for (size_t k = 0; k < out.inputs.size(); ++k) {
    if (!Carries(group.row_operands, k)) out.inputs[k] = plan.Translate(head.inputs[k]);
  }
  if (group.kind == RowKind::kSummed) {
    out.output = plan.Translate(head.output);
    out.accumulate = std::all_of(group.members.begin(), group.members.end(),
                                 [&](int m) { return program[m].accumulate; });
  }
  return out;
}

}  // namespace tg::compile
