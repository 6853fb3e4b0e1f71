#include "examples/time_series/blend.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "examples/time_series/baselines.h"

namespace tg::examples {

absl::StatusOr<BlendedForecast> BlendEnsemble(const WindowTask& task,
                                              const std::vector<MemberResult>& members,
                                              const std::vector<std::string>& member_names,
                                              int64_t period) {
  const int64_t vb = task.valid_begin, nv = task.num_valid;
  std::vector<std::vector<double>> valid, test;
  BlendedForecast out;
  for (size_t m = 0; m < members.size(); ++m) {
    valid.push_back(members[m].valid);
    test.push_back(members[m].test);
    out.names.push_back(member_names[m]);
  }
  absl::StatusOr<Forecasts> ar_valid = NormalizedArForecasts(task, task.num_train, vb, nv);
  if (!ar_valid.ok()) return ar_valid.status();
  absl::StatusOr<Forecasts> ar_test = NormalizedArForecasts(task);
  if (!ar_test.ok()) return ar_test.status();
  valid.push_back(std::move(*ar_valid));
  test.push_back(std::move(*ar_test));
  out.names.push_back(absl::StrCat("linear AR(", task.window, ") normalised"));
  absl::StatusOr<Forecasts> seasonal_valid = SeasonalNaiveForecasts(task, period, vb, nv);
  if (!seasonal_valid.ok()) return seasonal_valid.status();
  absl::StatusOr<Forecasts> seasonal_test = SeasonalNaiveForecasts(task, period);
  if (!seasonal_test.ok()) return seasonal_test.status();
  valid.push_back(std::move(*seasonal_valid));
  test.push_back(std::move(*seasonal_test));
  out.names.push_back(period > 1 ? "seasonal naive" : "persistence");

  absl::StatusOr<BlendChoice> choice = ChooseBlendWeights(valid, task.Targets(vb, nv));
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
