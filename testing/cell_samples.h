// Finite-difference checks of every cell and recurrent wrapper, through 4 BPTT steps in
// float64, for examples/grad_check (the models tests check the same and more).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "autodiff/grad_check.h"
#include "graph/graph.h"

namespace tg::testing {

// Builds the outputs of one recurrent model from x [T,B,I] and h0 [B,H] (c0 = h0 * 0.5 for
// cells that have c); its parameters take x's dtype (float64 for the checks, float32 too).
using ModelFn = std::function<std::vector<Expr>(Graph&, ParameterStore&, Expr x, Expr h0)>;

// The sizes every check uses: x is [kSteps, kBatch, kInput], h0 [kBatch, kHidden].
inline constexpr int64_t kSteps = 4, kBatch = 3, kInput = 3, kHidden = 4;

struct CellCheck {
  std::string cell;     // "lstm", "gru", "stacked_lstm", ...
  std::string variant;  // what the check covers
  // CheckGradients over the cell's parameters and over its inputs (x and the initial state).
  std::function<absl::Status(GradCheckReport* report)> run;
  ModelFn model;  // the model checked (for comparing other ways of running it)
};

// loss = sum over steps of sum(w_t * output_t) with fixed weights w_t (in the outputs'
// dtype): every step's output and the carried state reach the loss.
Expr WeightedSum(Graph& g, absl::Span<const Expr> outputs);

const std::vector<CellCheck>& CellChecks();

}  // namespace tg::testing
