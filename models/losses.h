/// \file
/// Sequence losses as compositions of ops. MseLoss (mean squared error) is the op-level
/// composition in ops/ops.h, available through this header too.
#pragma once

#include <cstdint>
#include <vector>

#include "absl/types/span.h"
#include "graph/graph.h"
#include "ops/ops.h"

namespace tg {

/// `sum_n w_n * (-log_softmax(logits)[n, t_n]) / sum_n w_n`.
/// logits [N,C] (f32/f64), targets i32 [N] in [0, C), weights [N] of logits' dtype (0 for
/// padding). NaN when every weight is 0. Built from LogSoftmax, OneHot, Mul and Sum.
Expr MaskedSoftmaxCrossEntropy(Graph& g, Expr logits, Expr targets, Expr weights);

/// Weights for time-major rows n = t * B + b (StackSteps order): 1 while t < lengths[b].
std::vector<double> SequenceWeights(absl::Span<const int32_t> lengths, int64_t num_steps);

/// The same loss over T steps stacked time-major (logits [T*B, C], targets [T*B]), padding
/// steps (t >= lengths[b]) weighted 0. A wrong count of rows is an error on g.
Expr MaskedSoftmaxCrossEntropy(Graph& g, Expr logits, Expr targets,
                               absl::Span<const int32_t> lengths);

}  // namespace tg
