#include "examples/time_series/windows.h"

#include <cmath>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace tg::examples {

Forecasts WindowTask::Targets(int64_t begin, int64_t count) const {
  Forecasts out(count * horizon);
  for (int64_t i = 0; i < count; ++i) {
    for (int64_t k = 1; k <= horizon; ++k) out[i * horizon + k - 1] = target(begin + i, k);
  }
  return out;
}

absl::StatusOr<WindowTask> MakeWindowTask(std::vector<double> series, const SplitSizes& sizes,
                                          const WindowNormOptions& norm, double scale_floor) {
  const int64_t n = static_cast<int64_t>(series.size());
  const int64_t w = sizes.window, h = sizes.horizon;
  const int64_t test = sizes.test_samples, valid = sizes.valid_samples;
  if (w < 1 || h < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("--window (", w, ") and --horizon (", h, ") must be >= 1"));
  }
  for (int64_t i = 0; i < n; ++i) {
    if (!std::isfinite(series[i])) {
      return absl::InvalidArgumentError(
          absl::StrCat("sample ", i, " of the series is ", series[i]));
    }
  }
  // Each part holds the targets of whole windows: at least `horizon` samples.
  if (test < h || valid < h) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the test part (", test, " samples) and the validation part (", valid,
        " samples) must each hold at least --horizon=", h, " samples; the series has ", n,
        " samples: raise --test_fraction or --valid_fraction, or lower --horizon"));
  }
  WindowTask task;
  task.window = w;
  task.horizon = h;
  const int64_t before_test = n - test, before_valid = before_test - valid;
  // A part [end - samples, end) of targets: windows whose first target is in it and whose
  // last target is before `end`.
  task.num_train = before_valid - h - w + 1;
  task.valid_begin = before_valid - w;
  task.num_valid = valid - h + 1;
  task.test_begin = before_test - w;
  task.num_test = test - h + 1;
  constexpr int64_t kMinTrain = 4;
  if (task.num_train < kMinTrain) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the series is too short: ", n, " samples minus ", test, " test and ", valid,
        " validation samples leave ", std::max<int64_t>(before_valid, 0),
        ", which a window of ", w, " plus a horizon of ", h, " turn into ",
        std::max<int64_t>(task.num_train, 0), " train windows (at least ", kMinTrain,
        " needed: ", w + h + kMinTrain - 1 + test + valid, " samples)"));
  }
  // The statistics the level input uses come from the samples before the validation
  // targets: validation windows then meet levels beyond them as test windows do, and the
  // selection on validation sees what the test part will.
  double sum = 0, sum2 = 0;
  for (int64_t i = 0; i < before_valid; ++i) sum += series[i];
  task.mean = sum / static_cast<double>(before_valid);
  for (int64_t i = 0; i < before_valid; ++i) {
    sum2 += (series[i] - task.mean) * (series[i] - task.mean);
  }
  task.std = std::sqrt(sum2 / static_cast<double>(before_valid));
  if (!(task.std > 0)) {
    return absl::InvalidArgumentError(absl::StrCat("the series is constant (", series[0],
                                                   ") in its first ", before_valid,
                                                   " samples, the part before the validation "
                                                   "targets"));
  }
  task.low = task.high = 0;
  for (int64_t i = 0; i < before_valid; ++i) {
    const double z = (series[i] - task.mean) / task.std;
    task.low = std::min(task.low, z);
    task.high = std::max(task.high, z);
  }
  task.series = std::move(series);
  // The floor and the unit are relative to the spread of a typical train window, so they
  // have the series' units whatever its trend.
  WindowNormOptions spread_only = norm;
  spread_only.scale = true;
  spread_only.min_scale = 0;
  double spread = 0;
  for (int64_t i = 0; i < task.num_train; ++i) {
    spread += FitWindowNorm(absl::MakeConstSpan(&task.series[i], w), spread_only).scale;
  }
  spread /= static_cast<double>(task.num_train);
  task.unit = spread > 0 ? spread : task.std;
  task.norm_options = norm;
  task.norm_options.min_scale = scale_floor * task.unit;
  const int64_t windows = task.test_begin + task.num_test;
  for (int64_t i = 0; i < windows; ++i) {
    absl::Span<const double> values = absl::MakeConstSpan(&task.series[i], w);
    WindowNorm wn = FitWindowNorm(values, task.norm_options);
    if (!norm.scale) wn.scale = task.unit;
    if (norm.level == WindowLevel::kNone) wn.level = task.mean;
    task.norms.push_back(wn);
    task.inputs.push_back(NormalizeWindow(values, wn, task.norm_options));
    task.linear_inputs.push_back(
        NormalizeWindow(values, {.level = wn.level, .scale = task.unit}, task.norm_options));
    task.log_scale.push_back(std::log(wn.scale / task.unit));
  }
  return task;
}

std::vector<double> NrmsePerStep(const WindowTask& task, int64_t begin, int64_t count,
                                 const Forecasts& forecasts) {
  const int64_t h = task.horizon;
  std::vector<double> out(h);
  for (int64_t k = 1; k <= h; ++k) {
    double mean = 0;
    for (int64_t i = 0; i < count; ++i) mean += task.target(begin + i, k);
    mean /= static_cast<double>(count);
    double var = 0, se = 0;
    for (int64_t i = 0; i < count; ++i) {
      const double y = task.target(begin + i, k);
      const double e = forecasts[i * h + k - 1] - y;
      var += (y - mean) * (y - mean);
      se += e * e;
    }
    out[k - 1] = std::sqrt(se / (var > 0 ? var : static_cast<double>(count)));
  }
  return out;
}

double MeanOf(const std::vector<double>& values) {
  double s = 0;
  for (double v : values) s += v;
  return values.empty() ? 0 : s / static_cast<double>(values.size());
}

}  // namespace tg::examples
