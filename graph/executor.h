/// \file
/// The executor: runs one recorded node. Kept apart from recording, so that eager mode is
/// "record, then execute at once" and a compiler can replay the same kernels on its own plan.
#pragma once

#include "absl/status/status.h"
#include "absl/types/span.h"
#include "graph/arena.h"
#include "graph/exec_options.h"
#include "graph/node.h"

namespace tg {

/// Gives `node` its output (a view of input 0 for view ops, else the buffer already assigned
/// or a fresh arena block) and runs its kernel on `inputs`.
absl::Status Execute(Node& node, absl::Span<const Tensor> inputs, Arena& arena,
                     const ExecOptions& options);

/// The first NaN or Inf in a float tensor, as FailedPrecondition naming the element (OK for
/// integer tensors). ExecOptions::check_numerics runs it after every kernel.
absl::Status CheckFinite(const Tensor& t);

}  // namespace tg
