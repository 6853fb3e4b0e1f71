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

/// Adds `op` (which must outlive its use; a static const OpDef is typical). Fails on a
/// duplicate name, a definition missing its name, infer or forward function (views and
/// leaves need no forward), a differentiable op (the default) without a VJP, or a
/// non-differentiable one with a VJP. Registering the same definition again does nothing.
/// Thread-safe.
absl::Status RegisterOp(const OpDef& op);
/// The registered op called `name`, or NotFound.
absl::StatusOr<const OpDef*> FindOp(std::string_view name);
/// All registered ops, in registration order.
std::vector<const OpDef*> RegisteredOps();

}  // namespace tg
