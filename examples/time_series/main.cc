// time_series: forecasts a series --horizon steps ahead from its last --window values with an
// LSTM, and scores it against two baselines on the same held-out windows. See --help.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <numeric>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"
#include "autodiff/backward.h"
#include "examples/common/csv_series.h"
#include "examples/common/csv_writer.h"
#include "examples/common/flags.h"
#include "examples/common/interrupt.h"
#include "examples/common/plot.h"
#include "examples/common/progress.h"
#include "examples/time_series/baselines.h"
#include "examples/time_series/mackey_glass.h"
#include "examples/time_series/windows.h"
#include "graph/dot.h"
#include "base/flag_checks.h"
#include "base/random.h"
#include "models/layers.h"
#include "models/lr_schedule.h"
#include "models/lstm_cell.h"
#include "models/optimizers.h"
#include "models/unroll.h"
#include "ops/ops.h"

ABSL_FLAG(std::string, csv, "", "a CSV file holding the series; empty: the Mackey-Glass series");
ABSL_FLAG(std::string, column, "", "the column of --csv to forecast (header name; needed with --csv)");
ABSL_FLAG(int64_t, length, 5000, "Mackey-Glass samples kept (after dropping 1000)");
ABSL_FLAG(double, test_fraction, 0.2,
          "the tail of the series whose samples are the test targets, in (0, 1) (0.2 of 5000: "
          "the last 1000)");
ABSL_FLAG(int64_t, window, 50, "values the model reads (the LSTM's sequence length)");
ABSL_FLAG(int64_t, horizon, 17, "steps after the window's last value to predict");
ABSL_FLAG(int64_t, hidden, 64, "LSTM hidden size");
ABSL_FLAG(int64_t, batch, 32, "windows per training step");
ABSL_FLAG(double, lr, 4e-3, "Adam's initial learning rate (> 0)");
ABSL_FLAG(double, min_lr, 2e-5,
          "learning rate at the end, from 0 to --lr (cosine decay over the budget; eta_min of "
          "torch.optim.lr_scheduler.CosineAnnealingLR)");
ABSL_FLAG(double, clip, 1.0, "global gradient-norm clip; <= 0: none");
ABSL_FLAG(double, minutes, 2.0,
          "training time budget (the cosine schedule spans it); 0: none, --steps bounds the run");
ABSL_FLAG(int64_t, steps, 0,
          "cap on training steps; 0: only --minutes bounds the run (one of the two must be set)");
ABSL_FLAG(int64_t, eval_every, 250, "training steps between test evaluations");
ABSL_FLAG(int, threads, 1, "intra-op threads (ExecOptions::num_threads; at least 1)");
ABSL_FLAG(uint64_t, seed, 1, "seeds the initialisation and the batch order");
ABSL_FLAG(std::string, out_dir, "results/time_series",
          "where curve.csv, forecast.csv (and the PNGs with --plot) go");
ABSL_FLAG(bool, plot, false, "write curve.png and forecast.png with gnuplot");
ABSL_FLAG(int64_t, plot_points, 300, "test targets shown in forecast.png");
ABSL_FLAG(std::string, dot, "", "write the graph of the first training step (forward and "
                                "backward) as Graphviz DOT to this file");
ABSL_FLAG(std::string, dot_scope, "", "with --dot: draw only this name scope, e.g. step_49");
ABSL_FLAG(bool, expect_beat_persistence, false,
          "exit status 1 unless the LSTM's test nRMSE is below persistence's (smoke test)");
ABSL_FLAG(double, expect_nrmse, 0,
          "exit status 1 unless the LSTM's test nRMSE is at most this; 0: no check");

namespace tg::examples {
namespace {

constexpr DType kDType = DType::kF32;

struct Forecaster {
  LstmCell cell;
  Linear head;

  // Predictions (normalised units) [n,1] for the windows `ids`: each window is a sequence of
  // `window` steps of one value, time-major [T, n, 1].
  Expr Predict(Graph& g, const WindowTask& task, const std::vector<int64_t>& ids) const {
    const int64_t n = static_cast<int64_t>(ids.size()), t_steps = task.window;
    std::vector<double> x(t_steps * n);
    for (int64_t t = 0; t < t_steps; ++t) {
      for (int64_t b = 0; b < n; ++b) {
        x[t * n + b] = (task.series[ids[b] + t] - task.mean) / task.std;
      }
    }
    Expr xs = HostConstant(g, {t_steps, n, 1}, x, kDType);
    UnrollResult r = Unroll(g, cell, SplitSteps(xs), cell.ZeroState(g, n));
    return head(g, r.final.h);
  }
};

// The LSTM's forecasts (original units) for every test window.
absl::StatusOr<std::vector<double>> TestForecast(const Forecaster& model, const WindowTask& task,
                                                 int threads) {
  Graph g({.mode = ExecMode::kInference, .exec = {.num_threads = threads}});
  std::vector<double> out;
  out.reserve(task.num_test);
  constexpr int64_t kChunk = 500;
  for (int64_t k = 0; k < task.num_test; k += kChunk) {
    g.Clear();
    std::vector<int64_t> ids;
    for (int64_t j = k; j < std::min(task.num_test, k + kChunk); ++j) ids.push_back(task.num_train + j);
    Expr pred = model.Predict(g, task, ids);
    absl::StatusOr<std::vector<float>> v = pred.ToVector<float>();
    if (!v.ok()) return v.status();
    for (float y : *v) out.push_back(task.mean + task.std * y);
  }
  return out;
}

absl::StatusOr<WindowTask> LoadTask(std::string* description) {
  std::vector<double> series;
  if (std::string path = absl::GetFlag(FLAGS_csv); !path.empty()) {
    absl::StatusOr<std::vector<double>> values = ReadCsvColumn(path, absl::GetFlag(FLAGS_column));
    if (!values.ok()) return values.status();
    series = std::move(*values);
    *description = absl::StrCat(path, " column \"", absl::GetFlag(FLAGS_column), "\"");
  } else {
    series = MackeyGlass({.keep = absl::GetFlag(FLAGS_length)});
    *description = "Mackey-Glass (tau 17)";
  }
  const double fraction = absl::GetFlag(FLAGS_test_fraction);
  const auto test = static_cast<int64_t>(std::llround(fraction * static_cast<double>(series.size())));
  absl::StrAppend(description, ", ", series.size(), " samples");
  return MakeWindowTask(std::move(series), absl::GetFlag(FLAGS_window),
                        absl::GetFlag(FLAGS_horizon), test);
}

absl::Status WriteForecast(const std::string& path, const WindowTask& task, int64_t rows,
                           const std::vector<double>& lstm, const std::vector<double>& persistence,
                           const std::vector<double>& linear) {
  absl::StatusOr<CsvWriter> csv =
      CsvWriter::Open(path, {"index", "truth", "lstm", "persistence", "linear_ar"});
  if (!csv.ok()) return csv.status();
  for (int64_t k = 0; k < rows; ++k) {
    const int64_t w = task.num_train + k;
    absl::Status s = csv->Row({static_cast<double>(task.target_index(w)), task.target(w), lstm[k],
                               persistence[k], linear[k]});
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::Status Plot(const std::string& dir, const std::string& title, int64_t window) {
  absl::Status s = WritePlot(
      {.png = absl::StrCat(dir, "/curve.png"),
       .title = absl::StrCat(title, ": learning curve"),
       .xlabel = "training step",
       .ylabel = "train MSE (normalised) / test nRMSE",
       .logy = true,
       .series = {{.csv = absl::StrCat(dir, "/curve.csv"), .x = "step", .y = "train_loss",
                   .title = "train loss (MSE, normalised units)"},
                  {.csv = absl::StrCat(dir, "/curve.csv"), .x = "step", .y = "test_nrmse",
                   .title = "test nRMSE", .style = "linespoints"}}});
  if (!s.ok()) return s;
  const std::string csv = absl::StrCat(dir, "/forecast_plot.csv");
  return WritePlot({.png = absl::StrCat(dir, "/forecast.png"),
                    .title = absl::StrCat(title, ": forecasts on the test tail"),
                    .xlabel = "sample",
                    .ylabel = "value",
                    .key = "outside bottom center horizontal",
                    .series = {{.csv = csv, .x = "index", .y = "truth", .title = "truth"},
                               {.csv = csv, .x = "index", .y = "lstm", .title = "LSTM"},
                               {.csv = csv, .x = "index", .y = "linear_ar",
                                .title = absl::StrCat("linear AR(", window, ")")},
                               {.csv = csv, .x = "index", .y = "persistence",
                                .title = "persistence"}}});
}

// Every flag's value, checked before the series is made or read: a bad one ends the program
// with status 2 and one line naming it (base/flag_checks.h).
void CheckFlags() {
  FlagChecks checks("time_series");
  const std::string csv = absl::GetFlag(FLAGS_csv);
  if (!csv.empty()) {
    checks.FileExists("csv", csv).Require(
        !absl::GetFlag(FLAGS_column).empty(),
        "--column is empty: --csv needs the header name of the column to forecast");
  }
  const double lr = absl::GetFlag(FLAGS_lr);
  const double minutes = absl::GetFlag(FLAGS_minutes);
  const int64_t steps = absl::GetFlag(FLAGS_steps);
  checks.AtLeast("length", absl::GetFlag(FLAGS_length), 1)
      .InRange("test_fraction", absl::GetFlag(FLAGS_test_fraction), 0, 1, Interval::kOpen)
      .AtLeast("window", absl::GetFlag(FLAGS_window), 1)
      .AtLeast("horizon", absl::GetFlag(FLAGS_horizon), 1)
      .AtLeast("hidden", absl::GetFlag(FLAGS_hidden), 1)
      .AtLeast("batch", absl::GetFlag(FLAGS_batch), 1)
      .GreaterThan("lr", lr, 0)
      .Finite("clip", absl::GetFlag(FLAGS_clip))
      .AtLeast("minutes", minutes, 0)
      .AtLeast("steps", steps, 0)
      .AtLeast("eval_every", absl::GetFlag(FLAGS_eval_every), 1)
      .AtLeast("threads", absl::GetFlag(FLAGS_threads), 1)
      .AtLeast("plot_points", absl::GetFlag(FLAGS_plot_points), 1)
      .AtLeast("expect_nrmse", absl::GetFlag(FLAGS_expect_nrmse), 0);
  if (std::isfinite(lr) && lr > 0) {
    checks.InRange("min_lr", absl::GetFlag(FLAGS_min_lr), 0, lr, Interval::kClosed);
  }
  checks.Require(!(minutes == 0 && steps == 0),
                 "--minutes=0 and --steps=0 leave training unbounded: set one of them");
  checks.ExitIfAny();
}

absl::Status Run(int* exit_code) {
  std::string description;
  absl::StatusOr<WindowTask> loaded = LoadTask(&description);
  if (!loaded.ok()) return loaded.status();
  const WindowTask& task = *loaded;
  const int64_t window = task.window, horizon = task.horizon;
  const int threads = absl::GetFlag(FLAGS_threads);
  const std::string out_dir = absl::GetFlag(FLAGS_out_dir);
  std::error_code ec;
  std::filesystem::create_directories(out_dir, ec);
  if (ec) return absl::InternalError(absl::StrCat("cannot create --out_dir '", out_dir, "': ", ec.message()));

  std::printf("%s; window %lld, horizon %lld: %lld train windows, %lld test windows\n",
              description.c_str(), static_cast<long long>(window), static_cast<long long>(horizon),
              static_cast<long long>(task.num_train), static_cast<long long>(task.num_test));

  // ---- the baselines ----
  const std::vector<double> persistence = PersistenceForecast(task);
  absl::StatusOr<LinearAr> linear = FitLinearAr(task);
  if (!linear.ok()) return linear.status();
  const double persistence_nrmse = NormalizedRmse(task, persistence);
  const double linear_nrmse = NormalizedRmse(task, linear->test_predictions);
  std::printf("baselines: persistence nRMSE %.4f, linear AR(%lld) nRMSE %.4f\n", persistence_nrmse,
              static_cast<long long>(window), linear_nrmse);

  // ---- the model ----
  const int64_t hidden = absl::GetFlag(FLAGS_hidden), batch = absl::GetFlag(FLAGS_batch);
  ParameterStore store({.seed = absl::GetFlag(FLAGS_seed)});
  absl::StatusOr<LstmCell> cell = LstmCell::Create(
      store, {.input_size = 1, .hidden_size = hidden, .prefix = "lstm", .dtype = kDType});
  if (!cell.ok()) return cell.status();
  absl::StatusOr<Linear> head = Linear::Create(
      store, {.in_features = hidden, .out_features = 1, .prefix = "head", .dtype = kDType});
  if (!head.ok()) return head.status();
  const Forecaster model{*cell, *head};
  const double base_lr = absl::GetFlag(FLAGS_lr), min_lr = absl::GetFlag(FLAGS_min_lr);
  absl::StatusOr<Adam> adam = Adam::Create(store, {.learning_rate = base_lr});
  if (!adam.ok()) return adam.status();
  constexpr int64_t kScheduleSteps = 100000;  // the schedule runs on the fraction of the budget
  const CosineLr schedule{.base_lr = base_lr, .total_steps = kScheduleSteps, .min_lr = min_lr};

  const double budget = absl::GetFlag(FLAGS_minutes) * 60;
  const int64_t max_steps = absl::GetFlag(FLAGS_steps);
  const int64_t eval_every = absl::GetFlag(FLAGS_eval_every);
  const double clip = absl::GetFlag(FLAGS_clip);

  absl::StatusOr<CsvWriter> curve =
      CsvWriter::Open(absl::StrCat(out_dir, "/curve.csv"),
                      {"step", "seconds", "train_loss", "test_nrmse", "learning_rate"});
  if (!curve.ok()) return curve.status();

  InstallInterruptHandler();
  Progress progress({.total = max_steps, .budget_seconds = max_steps > 0 ? 0 : budget,
                     .unit = "windows"});
  Graph g({.exec = {.num_threads = threads}});
  Rng rng(absl::GetFlag(FLAGS_seed) + 1);
  std::vector<int64_t> order(task.num_train);
  std::iota(order.begin(), order.end(), 0);
  size_t cursor = order.size();  // reshuffle at the start of every pass over the train windows
  std::vector<int64_t> ids(batch);
  std::vector<double> y(batch);
  double loss_sum = 0, lstm_nrmse = NAN, lr = base_lr;
  int64_t loss_count = 0, step = 0;
  std::vector<double> lstm_forecast;

  auto evaluate = [&]() -> absl::Status {
    absl::StatusOr<std::vector<double>> f = TestForecast(model, task, threads);
    if (!f.ok()) return f.status();
    lstm_forecast = std::move(*f);
    lstm_nrmse = NormalizedRmse(task, lstm_forecast);
    const double train_loss = loss_count ? loss_sum / loss_count : NAN;
    loss_sum = 0;
    loss_count = 0;
    return curve->Row({static_cast<double>(step), progress.elapsed_seconds(), train_loss,
                       lstm_nrmse, lr});
  };

  for (;;) {
    const double elapsed = progress.elapsed_seconds();
    if (max_steps > 0 && step >= max_steps) break;
    if (budget > 0 && elapsed >= budget) break;
    if (InterruptRequested()) {
      progress.Print("interrupted: evaluating the model as it is");
      break;
    }
    double fraction = 0;
    if (max_steps > 0) fraction = static_cast<double>(step) / max_steps;
    if (budget > 0) fraction = std::max(fraction, elapsed / budget);
    lr = schedule.At(std::llround(fraction * kScheduleSteps));
    adam->set_learning_rate(lr);

    for (int64_t b = 0; b < batch; ++b) {
      if (cursor == order.size()) {
        for (size_t i = order.size() - 1; i > 0; --i) std::swap(order[i], order[rng.Below(i + 1)]);
        cursor = 0;
      }
      ids[b] = order[cursor++];
      y[b] = (task.target(ids[b]) - task.mean) / task.std;
    }
    g.Clear();
    Expr pred = model.Predict(g, task, ids);
    Expr loss = MseLoss(pred, HostConstant(g, {batch, 1}, y, kDType));
    if (absl::Status s = Backward(loss); !s.ok()) return s;
    if (step == 0 && !absl::GetFlag(FLAGS_dot).empty()) {
      DotOptions options;
      options.title = absl::StrCat("time_series: one training step (window ", window, ", batch ",
                                   batch, ", hidden ", hidden, ")");
      options.max_nodes = 0;
      options.only_scope = absl::GetFlag(FLAGS_dot_scope);
      if (absl::Status s = WriteDot(g, absl::GetFlag(FLAGS_dot), options); !s.ok()) return s;
      progress.Print(absl::StrCat("wrote the graph of one training step (", g.num_nodes(),
                                  " nodes) to ", absl::GetFlag(FLAGS_dot)));
    }
    if (clip > 0) ClipGradNorm(store, clip);
    if (absl::Status s = adam->Step(); !s.ok()) return s;
    store.ZeroGrad();
    absl::StatusOr<double> value = loss.Scalar();
    if (!value.ok()) return value.status();
    if (!std::isfinite(*value)) {
      return absl::InternalError(absl::StrCat("training diverged at step ", step, " (loss ", *value,
                                              "); try a smaller --lr"));
    }
    loss_sum += *value;
    ++loss_count;
    ++step;
    if (step % eval_every == 0) {
      if (absl::Status s = evaluate(); !s.ok()) return s;
    }
    std::vector<std::pair<std::string, double>> shown = {{"loss", *value}};
    if (!lstm_forecast.empty()) shown.push_back({"test_nrmse", lstm_nrmse});
    shown.push_back({"lr", lr});
    progress.Update(step, static_cast<double>(step * batch), shown);
  }
  if (loss_count > 0 || lstm_forecast.empty()) {
    if (absl::Status s = evaluate(); !s.ok()) return s;
  }
  progress.Finish();
  const double seconds = progress.elapsed_seconds();

  if (absl::Status s = WriteForecast(absl::StrCat(out_dir, "/forecast.csv"), task, task.num_test,
                                     lstm_forecast, persistence, linear->test_predictions);
      !s.ok()) {
    return s;
  }
  if (absl::GetFlag(FLAGS_plot)) {
    const int64_t rows = std::clamp<int64_t>(absl::GetFlag(FLAGS_plot_points), 1, task.num_test);
    absl::Status s = WriteForecast(absl::StrCat(out_dir, "/forecast_plot.csv"), task, rows,
                                   lstm_forecast, persistence, linear->test_predictions);
    const std::string title =
        absl::GetFlag(FLAGS_csv).empty() ? "Mackey-Glass" : absl::GetFlag(FLAGS_column);
    if (s.ok()) s = Plot(out_dir, title, window);
    if (!s.ok()) return s;
  }

  std::printf("trained %lld steps (batch %lld) in %.1f s; results in %s\n",
              static_cast<long long>(step), static_cast<long long>(batch), seconds,
              out_dir.c_str());
  std::printf("test nRMSE, %lld steps ahead, %lld windows: LSTM %.4f  persistence %.4f  "
              "linear AR(%lld) %.4f\n",
              static_cast<long long>(horizon), static_cast<long long>(task.num_test), lstm_nrmse,
              persistence_nrmse, static_cast<long long>(window), linear_nrmse);
  const bool beats_persistence = lstm_nrmse < persistence_nrmse;
  const bool beats_linear = lstm_nrmse < linear_nrmse;
  std::printf("LSTM %s persistence and %s the linear AR\n",
              beats_persistence ? "beats" : "does NOT beat", beats_linear ? "beats" : "does NOT beat");
  if (absl::GetFlag(FLAGS_expect_beat_persistence) && !beats_persistence) {
    std::printf("FAIL: --expect_beat_persistence\n");
    *exit_code = 1;
  }
  if (const double limit = absl::GetFlag(FLAGS_expect_nrmse); limit > 0 && !(lstm_nrmse <= limit)) {
    std::printf("FAIL: LSTM nRMSE %.4f > --expect_nrmse=%g\n", lstm_nrmse, limit);
    *exit_code = 1;
  }
  return absl::OkStatus();
}

}  // namespace
}  // namespace tg::examples

int main(int argc, char** argv) {
  tg::examples::ParseFlags(argc, argv, "time_series",
      "forecasts a series --horizon steps ahead from its last --window values with an LSTM\n"
      "(the window read as a sequence, a linear head on the final h) and reports the\n"
      "normalised RMSE (RMSE / std of the test targets) on the held-out tail, beside two\n"
      "baselines on the same windows: persistence and a least-squares linear AR(window).\n"
      "Default series: Mackey-Glass (tau 17), 5000 samples, the last 1000 as test targets.\n"
      "Writes curve.csv and forecast.csv to --out_dir (PNGs with --plot).\n\n"
      "  time_series --minutes=2 --plot\n"
      "  time_series --csv=data/sunspots.csv --column=sunspots --window=60 --horizon=6\n");
  tg::examples::CheckFlags();
  int exit_code = 0;
  if (absl::Status s = tg::examples::Run(&exit_code); !s.ok()) {
    std::fprintf(stderr, "time_series: %s\n", s.ToString().c_str());
    return 2;
  }
  return exit_code;
}
