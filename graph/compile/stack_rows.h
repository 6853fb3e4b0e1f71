/// \file
/// Time batching, read from the row facts each OpDef declares (no op is named here):
///
/// - kIndependent: instructions that apply the same op with the same attributes to the same
///   shared operands (a weight), none depending on another, become one instruction over their
///   row operands stacked (x_t W^T for every step t is one [T*B, I] x [I, 4H] product);
/// - kSummed: instructions that add into the same output a sum over rows their operands share
///   (dW += dz_t^T x_t for every t) become one instruction over the stacked operands.
///
/// The stacked instruction takes the place of the first member when every member's inputs are
/// ready by then, else of the last when nothing reads a member's result before it. Stacked
/// operands are tied adjacent in the memory plan, so stacking copies nothing; a group whose
/// ties contradict earlier ones is left as it was.
#pragma once

#include <vector>

#include "graph/compile/liveness.h"
#include "graph/compile/memory_plan.h"
#include "graph/compile/program.h"

namespace tg::compile {

/// Instructions whose work becomes one stacked instruction.
struct StackedGroup {
  std::vector<int> members;  ///< Instruction indices in stacking order.
  int at = -1;               ///< The member whose place the stacked instruction takes.
  RowKind kind = RowKind::kNone;  ///< kIndependent or kSummed.
  uint32_t row_operands = 0;  ///< Bit i set: operand i is stacked (the others are shared).
};

/// Finds the groups to stack and ties their operands in `plan`; returns the groups it
/// accepted. `position[i]`: where instruction i runs (updated for accepted groups);
/// `alive[i]`: false for pruned instructions and, on return, for members folded into another.
std::vector<StackedGroup> StackRows(const Program& program, const Dependencies& deps,
                                    const BufferMap& buffers, MemoryPlan& plan,
                                    std::vector<int>& position, std::vector<bool>& alive);

/// The one instruction doing a group's work, over the moved memory.
Instruction StackedInstruction(const Program& program, const StackedGroup& group,
                               const MemoryPlan& plan);

}  // namespace tg::compile
