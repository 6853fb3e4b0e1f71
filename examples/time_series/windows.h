// The forecasting task on a series: windows of `window` values, each with the value
// `horizon` steps after its last one as target; the targets in the last `test` samples are
// the held-out test set, the others train. Plus the score every model is reported in.
#pragma once

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"

namespace tg::examples {

struct WindowTask {
  std::vector<double> series;  // original units
  int64_t window = 0;
  int64_t horizon = 0;
  // Window w reads series[w .. w + window) and predicts series[w + window - 1 + horizon].
  // Train windows are 0 .. num_train - 1; test windows follow them, num_test of them.
  int64_t num_train = 0;
  int64_t num_test = 0;
  // Mean and standard deviation of the samples before the first test target (the only ones
  // training may look at), for normalising.
  double mean = 0, std = 1;

  int64_t target_index(int64_t w) const { return w + window - 1 + horizon; }
  double target(int64_t w) const { return series[target_index(w)]; }
  int64_t first_test_window() const { return num_train; }
};

// Errors (InvalidArgument) name the setting that leaves no train or no test window, or a
// series too short or constant.
absl::StatusOr<WindowTask> MakeWindowTask(std::vector<double> series, int64_t window,
                                          int64_t horizon, int64_t test_samples);

// RMSE of `predictions` (original units, one per test window) over the standard deviation
// of the test targets.
double NormalizedRmse(const WindowTask& task, const std::vector<double>& predictions);

}  // namespace tg::examples
