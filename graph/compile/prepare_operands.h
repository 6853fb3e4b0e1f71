/// \file
/// Prepared operands: an op may declare that it reads an operand in a prepared form
/// (OpDef::prepare: a weight packed for its products). When the operand does not change during
/// a run -- no instruction writes any of its bytes: a parameter, a constant, a feed -- and at
/// least two instructions read it in the same form, this pass adds one instruction that
/// prepares it right before the first of them, into a planned buffer of its own, and makes
/// each of them read that buffer as its last input (Instruction::prepared). So the form is
/// made once per run, from the operand's bytes of that run: a weight an optimizer changed
/// between runs is prepared again.
#pragma once

#include "graph/compile/program.h"

namespace tg::compile {

/// What PrepareOperands did.
struct PrepareStats {
  int forms = 0;  ///< Prepared copies (instructions added).
  int readers = 0;  ///< Instructions that read a prepared copy.
};

/// `program` with its fixed operands prepared as described above; runs after time batching
/// (the readers are the final instructions) and before lifetimes (the copies get memory).
Program PrepareOperands(Program program, PrepareStats* stats = nullptr);

}  // namespace tg::compile
