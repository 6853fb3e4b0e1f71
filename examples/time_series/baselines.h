// The two baselines the LSTM is measured against, on the same windows: persistence (the
// window's last value) and a linear autoregression on the window fitted by least squares.
#pragma once

#include <vector>

#include "absl/status/statusor.h"
#include "examples/time_series/windows.h"

namespace tg::examples {

// One prediction per test window: the last value of the window.
std::vector<double> PersistenceForecast(const WindowTask& task);

// y ~ w . [window values, 1], fitted on the train windows by the normal equations in double
// (Cholesky, with a ridge of `ridge` times the mean diagonal so that a rank-deficient window
// still solves). Works on normalised values; returns one prediction per test window in
// original units. FailedPrecondition if the system is not positive definite even so.
struct LinearAr {
  std::vector<double> weights;  // window coefficients then the intercept (normalised units)
  std::vector<double> test_predictions;
};
absl::StatusOr<LinearAr> FitLinearAr(const WindowTask& task, double ridge = 1e-10);

}  // namespace tg::examples
