/// \file
/// Linear least squares with an intercept, solved in double by the normal equations
/// (Cholesky) with a small ridge: the linear autoregression every forecaster should be
/// compared with (rows are windows, columns their values, outputs the 1..h steps ahead), and
/// a warm start for a model's linear part.
///
/// \code{.cpp}
///   // x: rows x 60 window values, y: rows x 6 future values, both row-major.
///   absl::StatusOr<LinearFit> ar = FitLeastSquares(x, y, rows);
///   std::vector<double> forecast = ar->Predict(window);  // 6 values
/// \endcode
#pragma once

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace tg {

/// y ≈ W x + b for `outputs` outputs of `inputs` inputs.
struct LinearFit {
  int64_t inputs = 0;   ///< Width of x.
  int64_t outputs = 0;  ///< Width of y.
  /// Row-major [outputs, inputs + 1]: each output's coefficients, then its intercept.
  std::vector<double> weights;

  /// The coefficient of input `i` for output `o`.
  double coefficient(int64_t o, int64_t i) const { return weights[o * (inputs + 1) + i]; }
  /// The intercept of output `o`.
  double intercept(int64_t o) const { return weights[o * (inputs + 1) + inputs]; }
  /// W x + b for one row x of `inputs` values (a wrong size gives an empty vector).
  std::vector<double> Predict(absl::Span<const double> x) const;
};

/// Minimises |X W^T + b - Y|^2 + ridge * mean(diag(X1^T X1)) * |[W b]|^2, X1 = [X 1], over
/// `rows` rows: x is row-major [rows, inputs], y [rows, outputs] (inputs and outputs follow
/// from the sizes). The ridge, relative to the mean diagonal so it does not depend on the
/// data's units, lets a rank-deficient X (fewer rows than inputs, a constant column) still
/// solve. InvalidArgument names the sizes when they do not divide into `rows` rows, when a
/// value is not finite (its row) or ridge is negative; FailedPrecondition when the system is
/// not positive definite even so.
absl::StatusOr<LinearFit> FitLeastSquares(absl::Span<const double> x, absl::Span<const double> y,
                                          int64_t rows, double ridge = 1e-10);

}  // namespace tg
