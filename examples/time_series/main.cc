// time_series: forecasts a series steps 1..--horizon ahead from its last --window values with
// an ensemble of LSTMs, and scores it against simple baselines on the same held-out windows.
// See --help.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "examples/common/flags.h"
#include "examples/common/interrupt.h"
#include "examples/time_series/baselines.h"
#include "examples/time_series/blend.h"
#include "examples/time_series/options.h"
#include "examples/time_series/report.h"
#include "examples/time_series/series.h"
#include "examples/time_series/training.h"
#include "examples/time_series/windows.h"
#include "models/ensemble.h"
#include "models/seasonal_naive.h"

namespace tg::examples {
namespace {

const char* LevelName(WindowLevel level) {
  switch (level) {
    case WindowLevel::kLast: return "last";
    case WindowLevel::kMean: return "mean";
    case WindowLevel::kNone: return "none";
  }
  return "?";
}

// The season for the seasonal naive baseline: --period, or detected on the samples before
// the test part.
absl::StatusOr<int64_t> SeasonOf(const WindowTask& task, int64_t period) {
  if (period > 0) return period;
  const int64_t before_test = task.target_index(task.test_begin, 1);
  return DetectPeriod(absl::MakeConstSpan(task.series.data(), before_test),
                      {.max_period = std::min(task.window, before_test - 3)});
}

// The baselines, in the order of the headline after the two LSTM entries.
absl::StatusOr<std::vector<Scored>> ScoreBaselines(const WindowTask& task, int64_t period) {
  absl::StatusOr<Forecasts> levels = LevelsArForecasts(task);
  if (!levels.ok()) return levels.status();
  absl::StatusOr<Forecasts> normalised = NormalizedArForecasts(task);
  if (!normalised.ok()) return normalised.status();
  absl::StatusOr<Forecasts> seasonal = SeasonalNaiveForecasts(task, period);
  if (!seasonal.ok()) return seasonal.status();
  const std::string ar = absl::StrCat("linear AR(", task.window, ")");
  return std::vector<Scored>{
      Score(task, absl::StrCat(ar, " levels"), "ar_levels", std::move(*levels)),
      Score(task, absl::StrCat(ar, " normalised"), "ar_normalised", std::move(*normalised)),
      Score(task, "seasonal naive", "seasonal_naive", std::move(*seasonal)),
      Score(task, "persistence", "persistence", PersistenceForecasts(task))};
}

void PrintBlend(const WindowTask& task, const BlendedForecast& blend) {
  std::printf("ensemble weights: greedy selection on the validation windows, shrunk towards "
              "the simple forecasters weighed on %lld rolling-origin windows (mean nRMSE over "
              "steps 1..%lld)\n",
              static_cast<long long>(blend.rolling_windows), static_cast<long long>(task.horizon));
  std::printf("  %-40s weight  selected  anchor  validation  rolling\n", "candidate");
  for (size_t k = 0; k < blend.names.size(); ++k) {
    std::printf("  %-40s %6.3f  %8.2f  %6.2f  %10.4f", blend.names[k].c_str(),
                blend.choice.weights[k], blend.choice.selected[k], blend.anchor[k],
                blend.valid_nrmse[k]);
    if (std::isfinite(blend.rolling_nrmse[k])) std::printf("  %7.4f", blend.rolling_nrmse[k]);
    std::printf("\n");
  }
  std::printf("  %-40s %6s  %8s  %6s  %10.4f\n", "the weighted ensemble", "", "", "",
              blend.valid_blend);
  if (blend.choice.folds == 0) {
    std::printf("share of the selected weights: %.2f (too few validation windows for 3 folds "
                "of %lld)\n",
                blend.choice.share, static_cast<long long>(task.horizon));
  } else {
    std::printf("share of the selected weights: %.2f (%d folds: validation MSE gain over the "
                "anchor %.4g, standard error %.4g)\n",
                blend.choice.share, blend.choice.folds, blend.choice.gain, blend.choice.gain_se);
  }
}

absl::Status WriteResults(const TimeSeriesOptions& o, const WindowTask& task,
                          const std::string& title, const std::vector<MemberResult>& members,
                          const std::vector<Scored>& scored, const EnsembleForecast& ensemble) {
  const std::string dir = o.out_dir;
  if (absl::Status s = WriteCurveCsv(absl::StrCat(dir, "/curve.csv"), members); !s.ok()) return s;
  absl::Status s = WriteForecastCsv(absl::StrCat(dir, "/forecast.csv"), task, task.num_test,
                                    scored, ensemble);
  if (!s.ok() || !o.plot) return s;
  s = WriteForecastCsv(absl::StrCat(dir, "/forecast_plot.csv"), task, o.plot_points, scored,
                       ensemble);
  if (!s.ok()) return s;
  return PlotResults(dir, title, task.horizon, members, scored);
}

absl::Status Run(const TimeSeriesOptions& o, int* exit_code) {
  absl::StatusOr<Series> series = LoadSeries(o.csv, o.column, o.length);
  if (!series.ok()) return series.status();
  absl::StatusOr<WindowTask> made = MakeTask(series->values, o);
  if (!made.ok()) return made.status();
  const WindowTask& task = *made;
  // Models 2, 4, ... read the windows shifted by --second_level.
  TimeSeriesOptions second = o;
  second.norm.level = o.second_level;
  absl::StatusOr<WindowTask> made_second = MakeTask(std::move(series->values), second);
  if (!made_second.ok()) return made_second.status();
  std::error_code ec;
  std::filesystem::create_directories(o.out_dir, ec);
  if (ec) {
    return absl::InternalError(
        absl::StrCat("cannot create --out_dir '", o.out_dir, "': ", ec.message()));
  }
  std::printf("%s; window %lld, horizon %lld: %lld train, %lld validation, %lld test windows\n",
              series->description.c_str(), static_cast<long long>(task.window),
              static_cast<long long>(task.horizon), static_cast<long long>(task.num_train),
              static_cast<long long>(task.num_valid), static_cast<long long>(task.num_test));

  absl::StatusOr<int64_t> period = SeasonOf(task, o.period);
  if (!period.ok()) return period.status();
  absl::StatusOr<std::vector<Scored>> baselines = ScoreBaselines(task, *period);
  if (!baselines.ok()) return baselines.status();
  std::printf("seasonal naive period %lld%s\n", static_cast<long long>(*period),
              o.period > 0 ? "" : " (detected)");

  std::vector<uint64_t> seeds;
  std::vector<const WindowTask*> member_tasks;
  std::vector<std::string> member_names;
  for (int i = 0; i < o.seeds; ++i) {
    seeds.push_back(o.seed + i);
    member_tasks.push_back(i % 2 == 0 ? &task : &*made_second);
    member_names.push_back(absl::StrCat("model seed ", o.seed + i, " (level ",
                                        LevelName(member_tasks.back()->norm_options.level), ")"));
  }
  InstallInterruptHandler();
  absl::StatusOr<std::vector<MemberResult>> members =
      TrainEnsemble(member_tasks, o.train, seeds, o.threads);
  if (!members.ok()) return members.status();
  std::vector<std::vector<double>> member_forecasts;
  for (size_t i = 0; i < members->size(); ++i) {
    const MemberResult& m = (*members)[i];
    member_forecasts.push_back(m.test);
    std::printf("%s: %lld updates, weights of update %lld kept (validation nRMSE %.4f)\n",
                member_names[i].c_str(), static_cast<long long>(m.steps),
                static_cast<long long>(m.best_step), m.best_valid_nrmse);
  }
  absl::StatusOr<EnsembleForecast> ensemble = AverageForecasts(member_forecasts);
  if (!ensemble.ok()) return ensemble.status();
  if (o.blend) {
    absl::StatusOr<BlendedForecast> blend = BlendEnsemble(task, *members, member_names, *period);
    if (!blend.ok()) return blend.status();
    PrintBlend(task, *blend);
    ensemble->mean = std::move(blend->test);
  }

  std::vector<Scored> scored = {
      Score(task, "LSTM ensemble", "lstm_ensemble", ensemble->mean),
      Score(task, "single LSTM", "lstm_single", members->front().test)};
  for (Scored& b : *baselines) scored.push_back(std::move(b));
  if (absl::Status s = WriteResults(o, task, series->title, *members, scored, *ensemble); !s.ok()) {
    return s;
  }
  std::printf("results in %s\n", o.out_dir.c_str());
  PrintScores(task, scored);  // its last line is the headline

  const double lstm = scored[0].nrmse.back(), persistence = scored.back().nrmse.back();
  if (o.expect_beat_persistence && !(lstm < persistence)) {
    std::fprintf(stderr, "FAIL: --expect_beat_persistence: LSTM ensemble %.4f, persistence %.4f\n",
                 lstm, persistence);
    *exit_code = 1;
  }
  if (o.expect_nrmse > 0 && !(lstm <= o.expect_nrmse)) {
    std::fprintf(stderr, "FAIL: LSTM ensemble nRMSE %.4f > --expect_nrmse=%g\n", lstm,
                 o.expect_nrmse);
    *exit_code = 1;
  }
  return absl::OkStatus();
}

}  // namespace
}  // namespace tg::examples

int main(int argc, char** argv) {
  tg::examples::ParseFlags(argc, argv, "time_series",
      "forecasts a series steps 1..--horizon ahead from its last --window values with an\n"
      "ensemble of LSTMs (each window normalised by its own level and scale, read as a\n"
      "sequence; a head of --horizon outputs on the final h plus a linear skip connection;\n"
      "--steps updates per model, the weights of the best validation score kept; the\n"
      "models and the simple forecasters weighed on validation, shrunk towards the simple\n"
      "forecasters weighed by rolling origin as far as cross-validation supports) and\n"
      "reports the normalised RMSE (RMSE / std of the test targets) at each step on the\n"
      "held-out tail, beside a single LSTM, two least-squares linear ARs (on levels and on\n"
      "normalised windows), seasonal naive and persistence on the same windows.\n"
      "Default series: Mackey-Glass (tau 17), 5000 samples, the last 1000 as test targets.\n"
      "Writes curve.csv and forecast.csv to --out_dir (PNGs with --plot).\n\n"
      "  time_series --plot\n"
      "  time_series --csv=data/sunspots.csv --column=sunspots --window=60 --horizon=6\n");
  tg::examples::CheckFlags();
  int exit_code = 0;
  if (absl::Status s = tg::examples::Run(tg::examples::ReadOptions(), &exit_code); !s.ok()) {
    std::fprintf(stderr, "time_series: %s\n", s.ToString().c_str());
    return 2;
  }
  return exit_code;
}
