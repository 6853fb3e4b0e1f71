/// \file
/// The op registry: every OpDef by name, for tools that enumerate ops (the gradient-check
/// report, registry tests) and for lookups by name. Built-in ops register from ops/registry.cc;
/// a user's op registers from the user's own code.
#pragma once

#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "graph/op_def.h"

namespace tg {

/// Checks a definition without registering it: InvalidArgument naming the op for a missing
/// or malformed name (empty, or with '/', '"', spaces or control characters), a leaf, a
/// missing infer function or forward kernel (or view), an arity below -1, no_grad_inputs
/// bits at or past the arity, a seed_attr below -1, an f64 pointwise tile without an f32
/// one, an OperandPreparation with only one of its two functions, a differentiable op (the
/// default) without a VJP, or a VJP on a non-differentiable op.
absl::Status ValidateOpDef(const OpDef& op);
/// Adds `op` (which must outlive its use; a static const OpDef is typical) after
/// ValidateOpDef. Registering the same definition again does nothing; another definition
/// under a registered name is AlreadyExists. Thread-safe.
absl::Status RegisterOp(const OpDef& op);
/// The registered op called `name`, or NotFound.
absl::StatusOr<const OpDef*> FindOp(std::string_view name);
/// All registered ops, in registration order.
std::vector<const OpDef*> RegisteredOps();

}  // namespace tg
