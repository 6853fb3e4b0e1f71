/// \file
/// How StackRows (graph/compile/stack_rows.h) folds a group of like instructions into one:
/// where the stacked instruction may run (at the first member, or at the last with the
/// members' readers moved after it), in which order the members' rows go, and the buffer ties
/// that put their rows next to each other. Internal to time batching.
#pragma once

#include <cstdint>
#include <vector>

#include "absl/container/inlined_vector.h"
#include "graph/compile/buffer_ties.h"
#include "graph/compile/dependencies.h"
#include "graph/compile/program.h"
#include "graph/op_def.h"

namespace tg::compile {

/// Instructions whose work becomes one stacked instruction.
struct StackGroup {
  std::vector<int> members;  ///< Instruction indices in stacking order.
  int at = -1;  ///< The member whose place the stacked instruction takes.
  RowKind kind = RowKind::kNone;  ///< How the op's rows stack (OpDef::rows).
  uint32_t row_operands = 0;  ///< Bit k: operand k is stacked (the others are shared).
};

/// Whether bit k of `row_operands` is set: operand k is stacked.
inline bool Carries(uint32_t row_operands, size_t k) {
  return k < 32 && ((row_operands >> k) & 1u);
}

/// The dtypes and shapes of `in`'s operands.
absl::InlinedVector<TensorType, 3> TypesOf(const Program& p, const Instruction& in);

/// `s` with `rows` as its first dimension.
Shape WithRows(Shape s, int64_t rows);

/// The values stacked along rows: slot k < inputs is operand k, slot == inputs the output.
std::vector<int> StackedSlots(const Instruction& in, RowKind kind, uint32_t row_operands);

/// The value in `slot` of `in` (see StackedSlots).
ValueId SlotValue(const Instruction& in, int slot);

/// Folds groups of instructions into stacked ones, one group at a time, keeping the order
/// the instructions then run in.
class GroupBuilder {
 public:
  /// A builder over `program` with its dependencies; ties go into `ties`.
  GroupBuilder(const Program& program, const Dependencies& deps, BufferTies& ties);

  /// Tries to stack `members` (in program order) with the row facts they share: on success
  /// they are folded into one instruction, `out` describes the group and their rows are tied.
  bool TryStack(std::vector<int> members, const RowFacts& facts, StackGroup& out);

  /// Whether instruction i still runs (false: folded into another member's instruction).
  bool alive(int i) const { return alive_[i]; }
  /// The instructions in the order they run after stacking (folded members included).
  const std::vector<int>& order() const { return order_; }

  /// Whether the values of some stacked slot already lie in one tied group, which then fixes
  /// the members' order.
  bool HasOrderedSlot(const std::vector<int>& members, const RowFacts& facts);
  /// Dependencies, ties and orders looked at so far: what stacking cost.
  int64_t work() const { return work_; }

 private:
  const Instruction& At(int i) const { return program_.instructions[i]; }

  // The member whose place the stacked instruction can take, or -1. Members of a sum may
  // touch their shared output in any order; anything else between members forbids stacking.
  int Placement(const std::vector<int>& members, RowKind kind, uint32_t row_operands);

  // Whether instruction i reads an operand that is not stacked (a weight): what makes one
  // stacked kernel pay for keeping every member's result until the last member's place.
  bool HasSharedOperand(int i, uint32_t row_operands) const;

  // Whether what reads the members' results before `last` -- and everything that depends on
  // that, up to `last` -- can run after it instead (each step's input gradient copied into its
  // slice of the whole gradient, once the steps' products are one). Collects those
  // instructions in deferred_. Refused when one of them leads to a member (a cycle) or belongs
  // to a stacked group (its other members' readers would have to move too).
  bool CanDeferReadersPast(const std::vector<int>& members, int last);

  // Moves deferred_ (in their present order) right after the group's instruction at `at`.
  void Defer(int at);

  // The op itself must accept the stacked operands and give the stacked (or the same) output.
  bool ShapesAgree(const std::vector<int>& members, const RowFacts& facts);

  // The orders to stack the members in, to try one after the other. If the values of some
  // stacked slot already sit in one tied group (steps split out of one [T,B,I] tensor, or rows
  // tied by an earlier group), the order they have in memory; then, for each slot, the order
  // its values were made in (ids, never addresses) -- the first that the ties already made
  // allow wins, so that the sums over h_t of different weight gradients agree on one order
  // of the h_t whichever group comes first.
  std::vector<std::vector<int>> Orders(const std::vector<int>& members, const RowFacts& facts);

  bool TieRows(const std::vector<int>& members, const RowFacts& facts);

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

}  // namespace tg::compile
