/// \file
/// The seasonal naive forecast (each future value is the last observed value one season
/// earlier; with a period of 1 it is persistence) and a period detector, for the baseline a
/// forecaster of seasonal data must beat.
#pragma once

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace tg {

/// Forecasts for steps 1..horizon after the last value of `history`: step k repeats
/// history[n - 1 + k - period * ceil(k / period)], the same phase in the last season seen.
/// At k = period that is the last value (persistence). InvalidArgument names the sizes when
/// period or horizon is < 1 or history holds fewer than `period` values.
absl::StatusOr<std::vector<double>> SeasonalNaiveForecast(absl::Span<const double> history,
                                                          int64_t period, int64_t horizon);

/// Options of DetectPeriod.
struct PeriodOptions {
  int64_t max_period = 0;  ///< The longest period tried (>= 2).
  /// A period is reported only when the autocorrelation of the differenced series at that
  /// lag reaches this; otherwise DetectPeriod returns 1 (no season).
  double min_autocorrelation = 0.3;
};

/// The season of `series`: the lag in [2, max_period] at which the autocorrelation of the
/// series' first differences (which removes a trend) is a local maximum and largest; 1 when
/// no lag reaches options.min_autocorrelation. InvalidArgument names the sizes when
/// max_period < 2 or the series has fewer than max_period + 3 values; a series whose
/// differences are all equal (a straight line) has no season: 1.
absl::StatusOr<int64_t> DetectPeriod(absl::Span<const double> series, const PeriodOptions& options);

}  // namespace tg
