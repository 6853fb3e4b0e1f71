#include "examples/time_series/windows.h"

#include <cmath>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace tg::examples {

absl::StatusOr<WindowTask> MakeWindowTask(std::vector<double> series, int64_t window,
                                          int64_t horizon, int64_t test_samples) {
  const int64_t n = static_cast<int64_t>(series.size());
  if (window < 1 || horizon < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("--window (", window, ") and --horizon (", horizon, ") must be >= 1"));
  }
  if (test_samples < 1 || test_samples >= n) {
    return absl::InvalidArgumentError(absl::StrCat("the test tail (", test_samples,
                                                   " samples) must be >= 1 and below the series' ",
                                                   n, " samples"));
  }
  WindowTask task;
  task.window = window;
  task.horizon = horizon;
  const int64_t span = window - 1 + horizon;  // target index of window 0
  const int64_t first_test_target = n - test_samples;
  task.num_train = first_test_target - span;
  task.num_test = test_samples;
  if (task.num_train < 2) {
    return absl::InvalidArgumentError(absl::StrCat(
        "no room for training: ", n, " samples, ", test_samples, " for testing, and a window of ",
        window, " plus a horizon of ", horizon, " leave ", std::max<int64_t>(task.num_train, 0),
        " train windows"));
  }
  double sum = 0, sum2 = 0;
  for (int64_t i = 0; i < first_test_target; ++i) sum += series[i];
  task.mean = sum / first_test_target;
  for (int64_t i = 0; i < first_test_target; ++i) sum2 += (series[i] - task.mean) * (series[i] - task.mean);
  task.std = std::sqrt(sum2 / first_test_target);
  if (!(task.std > 0)) {
    return absl::InvalidArgumentError("the training part of the series is constant");
  }
  task.series = std::move(series);
  return task;
}

double NormalizedRmse(const WindowTask& task, const std::vector<double>& predictions) {
  double mean = 0;
  for (int64_t k = 0; k < task.num_test; ++k) mean += task.target(task.num_train + k);
  mean /= task.num_test;
  double var = 0, se = 0;
  for (int64_t k = 0; k < task.num_test; ++k) {
    const double y = task.target(task.num_train + k);
    var += (y - mean) * (y - mean);
    se += (predictions[k] - y) * (predictions[k] - y);
  }
  return std::sqrt(se / task.num_test) / std::sqrt(var / task.num_test);
}

}  // namespace tg::examples
