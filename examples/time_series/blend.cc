#include "examples/time_series/blend.h"

#include <cmath>
#include <utility>

#include "absl/strings/str_cat.h"
#include "examples/time_series/baselines.h"
#include "models/forecast_blend.h"

namespace tg::examples {
namespace {

// One simple forecaster: its forecasts of windows [begin, begin + count) when fitted on
// windows [0, fit_windows).
struct SimpleForecaster {
  std::string name;
  FittedForecaster forecast;
};

// The simple candidates (the AR on levels is none: blend.h).
std::vector<SimpleForecaster> SimpleForecasters(const WindowTask& task, int64_t period) {
  return {
      {absl::StrCat("linear AR(", task.window, ") normalised"),
       [](const WindowTask& t, int64_t fit, int64_t begin, int64_t count) {
         return NormalizedArForecasts(t, fit, begin, count);
       }},
      {period > 1 ? "seasonal naive" : "persistence",
       [period](const WindowTask& t, int64_t, int64_t begin, int64_t count) {
         return SeasonalNaiveForecasts(t, period, begin, count);
       }},
  };
}

}  // namespace

absl::StatusOr<BlendedForecast> BlendEnsemble(const WindowTask& task,
                                              const std::vector<MemberResult>& members,
                                              const std::vector<std::string>& member_names,
                                              int64_t period) {
  const int64_t vb = task.valid_begin, nv = task.num_valid;
  std::vector<std::vector<double>> valid, test, rolling;
  BlendedForecast out;
  for (size_t m = 0; m < members.size(); ++m) {
    valid.push_back(members[m].valid);
    test.push_back(members[m].test);
    out.names.push_back(member_names[m]);
    out.anchor.push_back(0);
    out.rolling_nrmse.push_back(NAN);
  }
  const RollingOrigin origin = RollingOriginFor(task);
  out.rolling_windows = origin.end - origin.begin;
  for (const SimpleForecaster& s : SimpleForecasters(task, period)) {
    absl::StatusOr<Forecasts> v = s.forecast(task, task.num_train, vb, nv);
    if (!v.ok()) return v.status();
    absl::StatusOr<Forecasts> t =
        s.forecast(task, FittingWindows(task), task.test_begin, task.num_test);
    if (!t.ok()) return t.status();
    absl::StatusOr<Forecasts> r = RollingForecasts(task, origin, s.forecast);
    if (!r.ok()) return r.status();
    out.names.push_back(s.name);
    out.rolling_nrmse.push_back(MeanOf(NrmsePerStep(task, origin.begin, out.rolling_windows, *r)));
    valid.push_back(std::move(*v));
    test.push_back(std::move(*t));
    rolling.push_back(std::move(*r));
  }
  // The anchor: the simple forecasters weighed on their rolling-origin forecasts.
  absl::StatusOr<BlendChoice> anchor =
      ChooseBlendWeights(rolling, task.Targets(origin.begin, out.rolling_windows));
  if (!anchor.ok()) return anchor.status();
  out.anchor.insert(out.anchor.end(), anchor->weights.begin(), anchor->weights.end());

  absl::StatusOr<ShrunkBlendChoice> choice = ChooseShrunkBlendWeights(
      valid, task.Targets(vb, nv), out.anchor,
      {.values_per_window = task.horizon, .overlap = task.horizon - 1});
  if (!choice.ok()) return choice.status();
  out.choice = *std::move(choice);
  for (const std::vector<double>& v : valid) {
    out.valid_nrmse.push_back(MeanOf(NrmsePerStep(task, vb, nv, v)));
  }
  absl::StatusOr<Forecasts> blend_valid = BlendForecasts(valid, out.choice.weights);
  if (!blend_valid.ok()) return blend_valid.status();
  out.valid_blend = MeanOf(NrmsePerStep(task, vb, nv, *blend_valid));
  absl::StatusOr<Forecasts> blend_test = BlendForecasts(test, out.choice.weights);
  if (!blend_test.ok()) return blend_test.status();
  out.test = std::move(*blend_test);
  return out;
}

}  // namespace tg::examples
