// The forecasting task on a series: windows of `window` values, each with the next
// `horizon` values as targets, split by time into train, validation and test windows whose
// targets never overlap; the per-window normalisation of every window; and the score every
// forecaster is reported in.
//
// Units: each window w has a level (its last value or mean) and a scale (its spread). The
// LSTM reads (x - level) / scale, so its part of a forecast is the same for a window twice
// as high or twice as wide. Linear parts and losses work in (x - level) / unit, with one
// unit for the whole series (the mean spread of the train windows): a linear map is
// unchanged by a per-window scale, and a loss in one unit weighs every window as the test
// score does.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "models/window_norm.h"

namespace tg::examples {

// How the series is split: the last `test_samples` samples are test targets, the
// `valid_samples` before them validation targets, the rest train targets.
struct SplitSizes {
  int64_t window = 0;
  int64_t horizon = 0;
  int64_t test_samples = 0;
  int64_t valid_samples = 0;
};

// Forecasts of several windows, row-major [windows, horizon], in the series' units.
using Forecasts = std::vector<double>;

struct WindowTask {
  std::vector<double> series;  // original units
  int64_t window = 0;
  int64_t horizon = 0;
  // Window w reads series[w .. w + window) and predicts series[w + window .. + horizon).
  // Train windows are [0, num_train); validation windows [valid_begin, + num_valid); test
  // windows [test_begin, + num_test). Every target of a train window comes before every
  // target of a validation window, and those before the test targets.
  int64_t num_train = 0, valid_begin = 0, num_valid = 0, test_begin = 0, num_test = 0;
  // Mean and standard deviation of the samples before the validation targets (the train
  // part), and their range in those units.
  double mean = 0, std = 1;
  double low = 0, high = 0;
  // The mean spread of the train windows: the unit of losses and linear parts.
  double unit = 1;
  // Each window's level and scale; what the LSTM reads ((x - level) / scale, or the
  // differences / scale); what linear parts read ((x - level) / unit, or the differences /
  // unit); and log(scale / unit), the window's width, which the LSTM also reads.
  WindowNormOptions norm_options;
  std::vector<WindowNorm> norms;
  std::vector<std::vector<double>> inputs;
  std::vector<std::vector<double>> linear_inputs;
  std::vector<double> log_scale;

  // The value k steps (1..horizon) after window w's last one.
  double target(int64_t w, int64_t k) const { return series[w + window - 1 + k]; }
  int64_t target_index(int64_t w, int64_t k) const { return w + window - 1 + k; }
  int64_t input_size() const { return NormalizedWindowSize(window, norm_options); }
  // Target k of window w in linear units, and back.
  double ToUnits(int64_t w, double value) const { return (value - norms[w].level) / unit; }
  double FromUnits(int64_t w, double u) const { return norms[w].level + unit * u; }
  // Sample i standardised by mean and std and clipped to [low, high]: a level beyond any
  // in the train part reads as the nearest one there.
  double Standardized(int64_t i) const {
    return std::clamp((series[i] - mean) / std, low, high);
  }
  // Windows [begin, begin + count) with every target, row-major [count, horizon].
  Forecasts Targets(int64_t begin, int64_t count) const;
};

// The split, the statistics and every window's normalisation. `scale_floor` times the mean
// spread of the train windows floors each window's scale (norm.min_scale is replaced by it);
// without norm.scale every window's scale is that mean spread.
// InvalidArgument names the sizes when the series is too short for them (the message says
// how many train windows are left), when a value is not finite (its index) or when the
// samples before the validation targets are constant.
absl::StatusOr<WindowTask> MakeWindowTask(std::vector<double> series, const SplitSizes& sizes,
                                          const WindowNormOptions& norm, double scale_floor);

// nRMSE at each step 1..horizon: the RMSE of `forecasts` against the targets of windows
// [begin, begin + count), over the standard deviation of those targets (1 where they are
// constant).
std::vector<double> NrmsePerStep(const WindowTask& task, int64_t begin, int64_t count,
                                 const Forecasts& forecasts);

// The mean of NrmsePerStep over the steps.
double MeanOf(const std::vector<double>& values);

}  // namespace tg::examples
