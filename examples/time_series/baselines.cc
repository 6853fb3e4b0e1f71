#include "examples/time_series/baselines.h"

#include <algorithm>
#include <vector>

#include "models/seasonal_naive.h"

namespace tg::examples {
int64_t FittingWindows(const WindowTask& task) { return task.valid_begin + task.num_valid; }

Forecasts PersistenceForecasts(const WindowTask& task) {
  Forecasts out(task.num_test * task.horizon);
  for (int64_t i = 0; i < task.num_test; ++i) {
    const double last = task.series[task.test_begin + i + task.window - 1];
    for (int64_t k = 0; k < task.horizon; ++k) out[i * task.horizon + k] = last;
  }
  return out;
}

absl::StatusOr<Forecasts> SeasonalNaiveForecasts(const WindowTask& task, int64_t period) {
  return SeasonalNaiveForecasts(task, period, task.test_begin, task.num_test);
}

absl::StatusOr<Forecasts> SeasonalNaiveForecasts(const WindowTask& task, int64_t period,
                                                 int64_t begin, int64_t count) {
  Forecasts out;
  out.reserve(count * task.horizon);
  for (int64_t i = 0; i < count; ++i) {
    absl::StatusOr<std::vector<double>> f = SeasonalNaiveForecast(
        absl::MakeConstSpan(&task.series[begin + i], task.window), period, task.horizon);
    if (!f.ok()) return f.status();
    out.insert(out.end(), f->begin(), f->end());
  }
  return out;
}

absl::StatusOr<Forecasts> LevelsArForecasts(const WindowTask& task) {
  return LevelsArForecasts(task, FittingWindows(task), task.test_begin, task.num_test);
}

absl::StatusOr<Forecasts> LevelsArForecasts(const WindowTask& task, int64_t fit_windows,
                                            int64_t begin, int64_t count) {
  const int64_t w = task.window, h = task.horizon, rows = fit_windows;
  auto z = [&](int64_t i) { return (task.series[i] - task.mean) / task.std; };
  std::vector<double> x(rows * w), y(rows * h);
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t j = 0; j < w; ++j) x[r * w + j] = z(r + j);
    for (int64_t k = 1; k <= h; ++k) y[r * h + k - 1] = z(task.target_index(r, k));
  }
  absl::StatusOr<LinearFit> fit = FitLeastSquares(x, y, rows);
  if (!fit.ok()) return fit.status();
  Forecasts out;
  out.reserve(count * h);
  std::vector<double> row(w);
  for (int64_t i = 0; i < count; ++i) {
    for (int64_t j = 0; j < w; ++j) row[j] = z(begin + i + j);
    for (double v : fit->Predict(row)) out.push_back(task.mean + task.std * v);
  }
  return out;
}

absl::StatusOr<LinearFit> FitNormalizedAr(const WindowTask& task, int64_t num_windows,
                                          double ridge) {
  const int64_t p = task.input_size(), h = task.horizon;
  std::vector<double> x, y;
  x.reserve(num_windows * p);
  y.reserve(num_windows * h);
  for (int64_t r = 0; r < num_windows; ++r) {
    x.insert(x.end(), task.linear_inputs[r].begin(), task.linear_inputs[r].end());
    for (int64_t k = 1; k <= h; ++k) y.push_back(task.ToUnits(r, task.target(r, k)));
  }
  return FitLeastSquares(x, y, num_windows, ridge);
}

absl::StatusOr<Forecasts> NormalizedArForecasts(const WindowTask& task) {
  return NormalizedArForecasts(task, FittingWindows(task), task.test_begin, task.num_test);
}

absl::StatusOr<Forecasts> NormalizedArForecasts(const WindowTask& task, int64_t fit_windows,
                                                int64_t begin, int64_t count) {
  absl::StatusOr<LinearFit> fit = FitNormalizedAr(task, fit_windows);
  if (!fit.ok()) return fit.status();
  Forecasts out;
  out.reserve(count * task.horizon);
  for (int64_t i = 0; i < count; ++i) {
    const int64_t w = begin + i;
    for (double v : fit->Predict(task.linear_inputs[w])) out.push_back(task.FromUnits(w, v));
  }
  return out;
}

}  // namespace tg::examples

namespace tg::examples {

RollingOrigin RollingOriginFor(const WindowTask& task) {
  constexpr int64_t kMaxFits = 40;
  const int64_t min_fit = std::max(task.num_train / 2, 2 * (task.input_size() + 1));
  // Window b's fit holds the windows before b - horizon + 1 (their targets precede b's).
  RollingOrigin r;
  r.begin = std::min(min_fit + task.horizon - 1, task.valid_begin);
  r.end = task.valid_begin + task.num_valid;
  r.refit_every = std::max<int64_t>(1, (r.end - r.begin + kMaxFits - 1) / kMaxFits);
  return r;
}

absl::StatusOr<Forecasts> RollingForecasts(const WindowTask& task, const RollingOrigin& origin,
                                           const FittedForecaster& forecaster) {
  Forecasts out;
  out.reserve((origin.end - origin.begin) * task.horizon);
  for (int64_t b = origin.begin; b < origin.end; b += origin.refit_every) {
    const int64_t count = std::min(origin.refit_every, origin.end - b);
    absl::StatusOr<Forecasts> f = forecaster(task, b - task.horizon + 1, b, count);
    if (!f.ok()) return f.status();
    out.insert(out.end(), f->begin(), f->end());
  }
  return out;
}

}  // namespace tg::examples
