// The ensemble's forecast: the models trained (each a candidate) and two simple forecasters
// (the linear AR on normalised windows and seasonal naive, or persistence without a season),
// combined with weights chosen on the validation windows and shrunk towards a safe anchor
// (models/blend_shrinkage.h):
//
// - the anchor weighs the simple forecasters alone by greedy ensemble selection on their
//   rolling-origin forecasts (baselines.h: many more out-of-sample windows than the
//   validation part, since they are cheap to fit again);
// - greedy ensemble selection on the validation windows weighs every candidate, and the
//   ensemble moves from the anchor towards it as far as purged cross-validation on the
//   validation windows supports (half way when they are too few for three folds).
//
// For the choice the AR is fitted on the train windows only, as the models are trained; for
// the test part it is fitted again on the train and validation windows, as its baseline is.
// The AR on levels is no candidate: its forecast depends on the absolute level through
// coefficients that need not sum to 1, fitted on the levels seen, and on a series whose test
// part leaves them its validation score does not carry over (co2, mean nRMSE over the steps:
// 0.12 on validation against 0.17 for the normalised AR, 0.23 against 0.13 on test).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "examples/time_series/training.h"
#include "examples/time_series/windows.h"
#include "models/blend_shrinkage.h"

namespace tg::examples {

// The weighted ensemble: its candidates, their weights and scores, and its test forecasts.
struct BlendedForecast {
  std::vector<std::string> names;  // each candidate, e.g. "model seed 1 (level mean)"
  std::vector<double> anchor;      // the simple forecasters' weights (0 for the models)
  ShrunkBlendChoice choice;        // the final weights, the selected ones and the share
  // Mean nRMSE over steps 1..horizon: of each candidate on the validation windows, on the
  // rolling-origin windows (NaN for the models), and of the ensemble on validation.
  std::vector<double> valid_nrmse, rolling_nrmse;
  double valid_blend = 0;
  int64_t rolling_windows = 0;  // windows scored by rolling origin
  Forecasts test;  // [num_test, horizon], original units
};

// Combines `members` (with their validation and test forecasts) and the simple forecasters as
// above; `task` is the one the baselines use (its targets are every member's), `period` the
// seasonal naive baseline's season.
absl::StatusOr<BlendedForecast> BlendEnsemble(const WindowTask& task,
                                              const std::vector<MemberResult>& members,
                                              const std::vector<std::string>& member_names,
                                              int64_t period);

}  // namespace tg::examples
