// What ops/pointwise.cc and ops/mul_add.cc share: the gradients of operands that a pointwise
// op broadcasts (pieces of their VJPs), and mul_add's OpDef, which PointwiseOps() lists with
// the other pointwise ops. Internal to ops/.
#pragma once

#include "graph/op_def.h"
#include "graph/vjp_context.h"

namespace tg::ops {

// An output-shaped gradient brought down to input i's shape: summed over the axes it was
// broadcast along, or passed through when nothing was broadcast.
Expr GradFor(const VjpContext& ctx, int i, Expr g);

// The gradient for input i of a product: dy * other summed down to input i's shape. For a
// row [D] (or [1, D]) of a rank-2 product -- a gain -- one mul_sum_to op: a sum over rows
// that time batching stacks over the steps, where SumTo(dy * other) would leave a product
// per step.
Expr ProductGradFor(const VjpContext& ctx, int i, Expr dy, Expr other);

// y = a * b + c (ops/mul_add.cc).
extern const OpDef kMulAdd;

}  // namespace tg::ops
