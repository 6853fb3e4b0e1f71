// The ensemble's forecast: the models trained (each a candidate), the linear AR on
// normalised windows and seasonal naive, combined with weights chosen on the validation
// windows by greedy ensemble selection (models/forecast_blend.h). For the choice the AR is
// fitted on the train windows only, as the models are; for the test part it is fitted again
// on the train and validation windows, as the baselines are. The AR on levels is not a
// candidate: it pulls towards the training levels, which a validation part next to them
// cannot show but a test part beyond them does.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "examples/time_series/training.h"
#include "examples/time_series/windows.h"
#include "models/forecast_blend.h"

namespace tg::examples {

// The weighted ensemble: its candidates, their weights and scores, and its test forecasts.
struct BlendedForecast {
  std::vector<std::string> names;  // each candidate, e.g. "model seed 1 (level mean)"
  BlendChoice choice;              // their weights and validation errors
  // Mean validation nRMSE over steps 1..horizon: of each candidate, and of the blend.
  std::vector<double> valid_nrmse;
  double valid_blend = 0;
  Forecasts test;  // [num_test, horizon], original units
};

// Combines `members` (with their validation and test forecasts) and the two baselines as
// above; `task` is the one the baselines use (its targets are every member's), `period` the
// seasonal naive baseline's season.
absl::StatusOr<BlendedForecast> BlendEnsemble(const WindowTask& task,
                                              const std::vector<MemberResult>& members,
                                              const std::vector<std::string>& member_names,
                                              int64_t period);

}  // namespace tg::examples
