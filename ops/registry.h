/// \file
/// The built-in ops, family by family, and their registration with the op registry.
#pragma once

#include <vector>

#include "absl/status/status.h"
#include "graph/op_def.h"

namespace tg {

std::vector<const OpDef*> PointwiseOps();  ///< ops/pointwise.cc: the pointwise ops.
std::vector<const OpDef*> MatMulOps();     ///< ops/matmul.cc: the matrix product.
std::vector<const OpDef*> ReduceOps();     ///< ops/reduce.cc: reductions and broadcasts.
std::vector<const OpDef*> SoftmaxOps();    ///< ops/softmax.cc: softmax and log_softmax.
std::vector<const OpDef*> ShapeOps();      ///< ops/shape_ops.cc: reshape, slices, concat...
std::vector<const OpDef*> NnOps();         ///< ops/nn.cc: embedding, losses, dropout...
std::vector<const OpDef*> NormalizeOps();  ///< ops/normalize.cc: row normalisation.

/// Every built-in op, in the order above.
std::vector<const OpDef*> BuiltinOps();
/// Registers every built-in op with tg::RegisterOp; idempotent.
absl::Status RegisterBuiltinOps();

}  // namespace tg
