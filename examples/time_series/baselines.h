// The simple forecasters the LSTM is measured against, all on the same test windows and all
// predicting steps 1..horizon: persistence (the window's last value), seasonal naive (the
// value one season earlier), and two linear autoregressions on the window fitted by least
// squares on the windows before the test part — one on the values (levels), one on the
// windows normalised as the LSTM reads them.
#pragma once

#include <cstdint>
#include <functional>

#include "absl/status/statusor.h"
#include "examples/time_series/windows.h"
#include "models/least_squares.h"

namespace tg::examples {

// Forecasts [num_test, horizon] of the test windows.
Forecasts PersistenceForecasts(const WindowTask& task);

// Forecasts of the test windows with season `period` (1..window).
absl::StatusOr<Forecasts> SeasonalNaiveForecasts(const WindowTask& task, int64_t period);

// Forecasts of windows [begin, begin + count) with season `period` (1..window).
absl::StatusOr<Forecasts> SeasonalNaiveForecasts(const WindowTask& task, int64_t period,
                                                 int64_t begin, int64_t count);

// Forecasts of windows [begin, begin + count) by the linear AR on levels:
// y(t+k) ~ w_k . window + b_k, on values standardised by the task's mean and std (for
// conditioning), fitted on windows [0, fit_windows).
absl::StatusOr<Forecasts> LevelsArForecasts(const WindowTask& task, int64_t fit_windows,
                                            int64_t begin, int64_t count);

// The test forecasts of the linear AR on levels fitted on the train and validation windows.
absl::StatusOr<Forecasts> LevelsArForecasts(const WindowTask& task);

// The linear map from a window's linear inputs to its targets, both in linear units
// ((x - level) / unit: the AR on windows normalised by their level; a per-window scale would
// cancel in a linear map), fitted on windows [0, num_windows), whose every target precedes
// the test part, with FitLeastSquares' relative `ridge`.
absl::StatusOr<LinearFit> FitNormalizedAr(const WindowTask& task, int64_t num_windows,
                                          double ridge = 1e-10);

// Forecasts of windows [begin, begin + count) by FitNormalizedAr fitted on windows
// [0, fit_windows).
absl::StatusOr<Forecasts> NormalizedArForecasts(const WindowTask& task, int64_t fit_windows,
                                                int64_t begin, int64_t count);

// The test forecasts of FitNormalizedAr fitted on the train and validation windows.
absl::StatusOr<Forecasts> NormalizedArForecasts(const WindowTask& task);

// Out-of-sample forecasts of every window before the test part from the middle of the train
// windows on (rolling origin, as in time-series cross-validation): windows [begin, end) in
// blocks of `refit_every`, each block forecast by a fit on the windows whose targets all
// precede the block's first target. Many more windows than the validation part alone, to
// weigh forecasters that are cheap to fit again.
struct RollingOrigin {
  int64_t begin = 0, end = 0;
  int64_t refit_every = 1;
};

// The rolling origin for `task`: the first block's fit holds at least half the train windows
// and twice the AR's inputs plus one (an AR fitted on fewer windows than that is far worse
// than the one the test part gets, and would be judged by it), but the block starts no later
// than the validation windows; at most 40 fits.
RollingOrigin RollingOriginFor(const WindowTask& task);

// Forecasts of windows [begin, begin + count) by a forecaster fitted on windows
// [0, fit_windows) (LevelsArForecasts and NormalizedArForecasts are ones).
using FittedForecaster = std::function<absl::StatusOr<Forecasts>(
    const WindowTask& task, int64_t fit_windows, int64_t begin, int64_t count)>;

// The forecasts of windows [origin.begin, origin.end) by `forecaster`, fitted again for each
// block.
absl::StatusOr<Forecasts> RollingForecasts(const WindowTask& task, const RollingOrigin& origin,
                                           const FittedForecaster& forecaster);

// The windows a baseline is fitted on for the test part: train and validation (every target
// before the test part), since a baseline has nothing to select.
int64_t FittingWindows(const WindowTask& task);

}  // namespace tg::examples
