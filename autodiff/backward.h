/// \file
/// Reverse-mode differentiation over the tape. Backpropagation through time is not special:
/// a cell applied T times is T groups of nodes, and Backward walks them all back.
#pragma once

#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "graph/expr.h"

namespace tg {

/// Options of Backward.
struct BackwardOptions {
  /// Build the gradients as ordinary, differentiable nodes (summed with Add) so that they can
  /// be differentiated again. Off: gradients accumulate in place into one buffer per tensor,
  /// and a gradient buffer is reused for later gradients once nothing can read it any more
  /// (forward values, returned gradients and the store's gradients are never reused).
  bool create_graph = false;
  /// Without create_graph: reuse dead gradient buffers (above). Off to compare against, or to
  /// compile an eager graph (tg::Compile plans memory itself). Never done in ExecMode::kRecord.
  bool reuse_buffers = true;
};

/// Adds d loss / d p into the gradient of every parameter (not frozen) that `loss` depends on;
/// gradients accumulate across calls until ParameterStore::ZeroGrad(), as in PyTorch.
/// `loss` must have one element. Returns the graph's first error if any node failed.
absl::Status Backward(Expr loss, BackwardOptions options = {});

/// Returns d loss / d x for each x in `wrt` (inputs made with requires_grad, parameters or any
/// intermediate node of the same graph; zeros where loss does not depend on x). An x that is
/// not f32 or f64 (i32 ids, targets) has no gradient: InvalidArgument names it. Parameter
/// gradients in the store are left untouched. Without create_graph the returned gradients are
/// leaves (they do not require a gradient themselves); they stay valid until Graph::Clear().
absl::StatusOr<std::vector<Expr>> Backward(Expr loss, absl::Span<const Expr> wrt,
                                           BackwardOptions options = {});

}  // namespace tg
