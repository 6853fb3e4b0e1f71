#include "examples/time_series/options.h"

#include <cmath>
#include <string>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "base/flag_checks.h"

ABSL_FLAG(std::string, csv, "", "a CSV file holding the series; empty: the Mackey-Glass series");
ABSL_FLAG(std::string, column, "",
          "the column of --csv to forecast (header name; needed with --csv)");
ABSL_FLAG(int64_t, length, 5000, "Mackey-Glass samples kept (after dropping 1000)");
ABSL_FLAG(double, test_fraction, 0.2,
          "the tail of the series whose samples are the test targets, in (0, 1) (0.2 of 5000: "
          "the last 1000)");
ABSL_FLAG(double, valid_fraction, 0.2,
          "the part of the samples before the test tail, taken from its end, whose samples are "
          "validation targets (early stopping), in (0, 1)");
ABSL_FLAG(int64_t, window, 50, "values the model reads (the LSTM's sequence length)");
ABSL_FLAG(int64_t, horizon, 17,
          "steps predicted at once after the window's last value; the headline is the last");
ABSL_FLAG(int64_t, period, 0,
          "the season of the seasonal naive baseline, 1 to --window; 0: detected from the "
          "autocorrelation of the differenced training part (1, persistence, when none)");
ABSL_FLAG(std::string, level, "mean",
          "what each window is shifted by before the model reads it: last (its last value), "
          "mean (its mean) or none (the mean of the train part, the same "
          "for every window)");
ABSL_FLAG(std::string, second_level, "last",
          "the level models 2, 4, ... shift each window by instead of --level (last, mean or "
          "none; the same as --level: every model alike)");
ABSL_FLAG(bool, window_scale, true,
          "the LSTM reads each window divided by its own standard deviation (and predicts in "
          "those units); false: every window by the mean spread of the train windows");
ABSL_FLAG(bool, level_input, true,
          "the LSTM also reads each value standardised by the mean and std of the samples "
          "of the train part, clipped to the range they span (a level never seen reads as "
          "the nearest one seen)");
ABSL_FLAG(double, scale_floor, 0.1,
          "floor on a window's scale, as a fraction of the mean spread of the train windows, "
          "in [0, 1]; keeps a flat window from dividing by almost 0");
ABSL_FLAG(bool, difference, false, "the model reads the window's first differences");
ABSL_FLAG(bool, skip, true, "a linear map from the window to the outputs beside the LSTM");
ABSL_FLAG(bool, start_from_linear, true,
          "start the skip connection at a least-squares AR of the train windows (ridge 1% of "
          "the mean diagonal) and the LSTM's head at 0, so training starts from a linear "
          "forecast (with --skip)");
ABSL_FLAG(bool, blend, true,
          "the ensemble's forecast weighs each model, the linear AR on normalised windows and "
          "seasonal naive by greedy ensemble selection on the validation windows, moved "
          "towards those two weighed on rolling-origin forecasts (the anchor) unless purged "
          "cross-validation on the validation windows shows the selection gains; --noblend: "
          "the plain average of the models");
ABSL_FLAG(bool, compile, true,
          "record one update, compile it (time batching, memory plan) and replay it on every "
          "batch; --nocompile runs every update eagerly (the same arithmetic)");
ABSL_FLAG(int64_t, hidden, 64, "LSTM hidden size");
ABSL_FLAG(int64_t, batch, 32, "windows per update");
ABSL_FLAG(int64_t, steps, 30000, "updates per model (the cosine learning rate spans them)");
ABSL_FLAG(int64_t, eval_every, 200,
          "updates between validation scores (early stopping); at most one pass over the train "
          "windows");
ABSL_FLAG(int64_t, patience, 6000,
          "updates without a new best validation score after which a model stops; 0: never");
ABSL_FLAG(int, seeds, 2,
          "models trained from different seeds (odd ones on --level, even ones on "
          "--second_level) whose forecasts the ensemble combines (see --blend)");
ABSL_FLAG(double, lr, 4e-3, "Adam's initial learning rate (> 0)");
ABSL_FLAG(double, min_lr, 2e-5,
          "learning rate at the end, from 0 to --lr (cosine decay over --steps; eta_min of "
          "torch.optim.lr_scheduler.CosineAnnealingLR)");
ABSL_FLAG(double, clip, 1.0, "global gradient-norm clip; <= 0: none");
ABSL_FLAG(int, threads, 2,
          "threads: up to this many models train at once, the rest split as intra-op threads");
ABSL_FLAG(uint64_t, seed, 1, "the first model's seed (the others follow); also the batch order");
ABSL_FLAG(std::string, out_dir, "results/time_series",
          "where curve.csv, forecast.csv (and the PNGs with --plot) go");
ABSL_FLAG(bool, plot, false, "write curve.png and forecast.png with gnuplot");
ABSL_FLAG(int64_t, plot_points, 300, "test windows shown in forecast.png");
ABSL_FLAG(std::string, dot, "", "write the graph of the first training step (forward and "
                                "backward) as Graphviz DOT to this file");
ABSL_FLAG(std::string, dot_scope, "", "with --dot: draw only this name scope, e.g. step_49");
ABSL_FLAG(bool, expect_beat_persistence, false,
          "exit status 1 unless the ensemble's test nRMSE is below persistence's (smoke test)");
ABSL_FLAG(double, expect_nrmse, 0,
          "exit status 1 unless the ensemble's test nRMSE is at most this; 0: no check");

namespace tg::examples {

void CheckFlags() {
  FlagChecks checks("time_series");
  const std::string csv = absl::GetFlag(FLAGS_csv);
  if (!csv.empty()) {
    checks.FileExists("csv", csv).Require(
        !absl::GetFlag(FLAGS_column).empty(),
        "--column is empty: --csv needs the header name of the column to forecast");
  }
  const double lr = absl::GetFlag(FLAGS_lr);
  const int64_t window = absl::GetFlag(FLAGS_window);
  checks.AtLeast("length", absl::GetFlag(FLAGS_length), 1)
      .InRange("test_fraction", absl::GetFlag(FLAGS_test_fraction), 0, 1, Interval::kOpen)
      .InRange("valid_fraction", absl::GetFlag(FLAGS_valid_fraction), 0, 1, Interval::kOpen)
      .AtLeast("window", window, 1)
      .AtLeast("horizon", absl::GetFlag(FLAGS_horizon), 1)
      .AtLeast("period", absl::GetFlag(FLAGS_period), 0)
      .OneOf("level", absl::GetFlag(FLAGS_level), {"last", "mean", "none"})
      .OneOf("second_level", absl::GetFlag(FLAGS_second_level), {"last", "mean", "none"})
      .InRange("scale_floor", absl::GetFlag(FLAGS_scale_floor), 0, 1, Interval::kClosed)
      .AtLeast("hidden", absl::GetFlag(FLAGS_hidden), 1)
      .AtLeast("batch", absl::GetFlag(FLAGS_batch), 1)
      .AtLeast("steps", absl::GetFlag(FLAGS_steps), 1)
      .AtLeast("eval_every", absl::GetFlag(FLAGS_eval_every), 1)
      .AtLeast("patience", absl::GetFlag(FLAGS_patience), 0)
      .AtLeast("seeds", absl::GetFlag(FLAGS_seeds), 1)
      .AtMost("seeds", absl::GetFlag(FLAGS_seeds), 64)
      .GreaterThan("lr", lr, 0)
      .Finite("clip", absl::GetFlag(FLAGS_clip))
      .AtLeast("threads", absl::GetFlag(FLAGS_threads), 1)
      .AtMost("threads", absl::GetFlag(FLAGS_threads), 256)
      .AtLeast("plot_points", absl::GetFlag(FLAGS_plot_points), 1)
      .AtLeast("expect_nrmse", absl::GetFlag(FLAGS_expect_nrmse), 0);
  if (window >= 1) {
    checks.AtMost("period", absl::GetFlag(FLAGS_period), window,
                  absl::StrCat("--window (", window, ")"));
  }
  if (std::isfinite(lr) && lr > 0) {
    checks.InRange("min_lr", absl::GetFlag(FLAGS_min_lr), 0, lr, Interval::kClosed);
  }
  checks.ExitIfAny();
}

TimeSeriesOptions ReadOptions() {
  TimeSeriesOptions o;
  o.csv = absl::GetFlag(FLAGS_csv);
  o.column = absl::GetFlag(FLAGS_column);
  o.length = absl::GetFlag(FLAGS_length);
  o.test_fraction = absl::GetFlag(FLAGS_test_fraction);
  o.valid_fraction = absl::GetFlag(FLAGS_valid_fraction);
  o.window = absl::GetFlag(FLAGS_window);
  o.horizon = absl::GetFlag(FLAGS_horizon);
  o.period = absl::GetFlag(FLAGS_period);
  auto level_of = [](const std::string& level) {
    return level == "mean"   ? WindowLevel::kMean
           : level == "none" ? WindowLevel::kNone
                             : WindowLevel::kLast;
  };
  o.norm.level = level_of(absl::GetFlag(FLAGS_level));
  o.second_level = level_of(absl::GetFlag(FLAGS_second_level));
  o.norm.scale = absl::GetFlag(FLAGS_window_scale);
  o.norm.difference = absl::GetFlag(FLAGS_difference);
  o.scale_floor = absl::GetFlag(FLAGS_scale_floor);
  o.train = {.hidden = absl::GetFlag(FLAGS_hidden),
             .batch = absl::GetFlag(FLAGS_batch),
             .steps = absl::GetFlag(FLAGS_steps),
             .eval_every = absl::GetFlag(FLAGS_eval_every),
             .patience = absl::GetFlag(FLAGS_patience),
             .lr = absl::GetFlag(FLAGS_lr),
             .min_lr = absl::GetFlag(FLAGS_min_lr),
             .clip = absl::GetFlag(FLAGS_clip),
             .skip = absl::GetFlag(FLAGS_skip),
             .level_input = absl::GetFlag(FLAGS_level_input),
             .start_from_linear = absl::GetFlag(FLAGS_start_from_linear),
             .compile = absl::GetFlag(FLAGS_compile),
             .dot = absl::GetFlag(FLAGS_dot),
             .dot_scope = absl::GetFlag(FLAGS_dot_scope)};
  o.blend = absl::GetFlag(FLAGS_blend);
  o.seeds = absl::GetFlag(FLAGS_seeds);
  o.seed = absl::GetFlag(FLAGS_seed);
  o.threads = absl::GetFlag(FLAGS_threads);
  o.out_dir = absl::GetFlag(FLAGS_out_dir);
  o.plot = absl::GetFlag(FLAGS_plot);
  o.plot_points = absl::GetFlag(FLAGS_plot_points);
  o.expect_beat_persistence = absl::GetFlag(FLAGS_expect_beat_persistence);
  o.expect_nrmse = absl::GetFlag(FLAGS_expect_nrmse);
  return o;
}

}  // namespace tg::examples
