#include "graph/compile/stack_groups.h"

#include <algorithm>
#include <utility>

namespace tg::compile {

absl::InlinedVector<TensorType, 3> TypesOf(const Program& p, const Instruction& in) {
  absl::InlinedVector<TensorType, 3> types;
  for (ValueId v : in.inputs) types.push_back({p.values[v].dtype, p.shape(v)});
  return types;
}

Shape WithRows(Shape s, int64_t rows) {
  s[0] = rows;
  return s;
}

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

GroupBuilder::GroupBuilder(const Program& program, const Dependencies& deps, BufferTies& ties)
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
bool GroupBuilder::TryStack(std::vector<int> members, const RowFacts& facts, StackGroup& out) {
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

// Whether the values of some stacked slot already lie in one tied group, which then fixes the
// members' order.
bool GroupBuilder::HasOrderedSlot(const std::vector<int>& members, const RowFacts& facts) {
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

// The member whose place the stacked instruction can take, or -1. Members of a sum may
// touch their shared output in any order; anything else between members forbids stacking.
int GroupBuilder::Placement(const std::vector<int>& members, RowKind kind, uint32_t row_operands) {
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
bool GroupBuilder::HasSharedOperand(int i, uint32_t row_operands) const {
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
bool GroupBuilder::CanDeferReadersPast(const std::vector<int>& members, int last) {
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
void GroupBuilder::Defer(int at) {
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
bool GroupBuilder::ShapesAgree(const std::vector<int>& members, const RowFacts& facts) {
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
std::vector<std::vector<int>> GroupBuilder::Orders(const std::vector<int>& members,
                                                   const RowFacts& facts) {
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

bool GroupBuilder::TieRows(const std::vector<int>& members, const RowFacts& facts) {
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

}  // namespace tg::compile
