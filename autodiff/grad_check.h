/// \file
/// CheckGradients: compares Backward's gradients with float64 central differences, on
/// sampled coordinates and on random projections, and reports the worst entries.
///
/// The step for coordinate x is step·max(1, |x|). The tolerance is
/// `rtol·|derivative| + atol + rounding`, with `rounding = 8·eps·max|loss| / step`,
/// the last term being the error the difference quotient itself makes.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/types/span.h"
#include "graph/graph.h"
#include "graph/parameter.h"

namespace tg {

/// Tolerances, step and sampling of CheckGradients.
struct GradCheckOptions {
  double rtol = 1e-5;                ///< Relative tolerance (see autodiff/grad_check.h).
  double atol = 1e-10;               ///< Absolute tolerance.
  double step = 1e-6;                ///< Relative finite-difference step.
  int max_coords_per_input = 64;     ///< Sampled coordinates per input (all if fewer).
  int max_coords_per_param = 64;     ///< The same, for the ParameterStore form.
  int num_projections = 2;           ///< Random directions checked on all inputs at once.
  uint64_t seed = 0;                 ///< Seeds the coordinate sampling and the directions.
  int report_worst = 5;              ///< Entries listed in the report.
};

/// One input of the function under test. Float inputs are checked (as f64); i32 inputs
/// (ids, targets) are fed as they are and must receive no gradient.
struct GradCheckInput {
  Shape shape = {};  ///< The input's shape.
  std::vector<double> values = {};  ///< f64 inputs.
  std::vector<int32_t> ids = {};    ///< i32 inputs (set `is_ids`).
  bool is_ids = false;  ///< The input is `ids` (i32), not `values`.
};

/// One compared derivative.
struct GradCheckEntry {
  std::string where;  ///< "input 1 [2,3] coord 4" or "projection 0".
  /// \var analytic
  /// Backward's derivative.
  /// \var numeric
  /// The central difference.
  /// \var abs_error
  /// |analytic - numeric|.
  /// \var tolerance
  /// What abs_error was held to (see autodiff/grad_check.h).
  double analytic = 0, numeric = 0, abs_error = 0, tolerance = 0;
};

/// What CheckGradients compared.
struct GradCheckReport {
  int num_checked = 0;  ///< Derivatives compared.
  double max_abs_error = 0;  ///< Largest absolute difference.
  double max_rel_error = 0;  ///< Largest `|a - n| / max(|a|, |n|, tiny)`.
  std::vector<GradCheckEntry> worst;  ///< Largest abs_error / tolerance first.
  /// The counts and the worst entries, one per line.
  std::string ToString() const;
};

/// `loss_fn` builds a one-element loss on `g` from the given inputs (f64 / i32 Exprs).
using LossFn = std::function<Expr(Graph& g, absl::Span<const Expr> inputs)>;

/// OK when every compared derivative is within tolerance; otherwise INTERNAL with the report
/// of the worst entries. Graph errors from loss_fn are returned as they are.
absl::Status CheckGradients(const LossFn& loss_fn, absl::Span<const GradCheckInput> inputs,
                            const GradCheckOptions& options = {},
                            GradCheckReport* report = nullptr);

/// The same over every non-frozen parameter of `store` (which must be f64); the parameters'
/// values and gradients are restored afterwards.
absl::Status CheckGradients(ParameterStore& store, const std::function<Expr(Graph& g)>& loss_fn,
                            const GradCheckOptions& options = {},
                            GradCheckReport* report = nullptr);

}  // namespace tg
