#include "models/seasonal_naive.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace tg {

absl::StatusOr<std::vector<double>> SeasonalNaiveForecast(absl::Span<const double> history,
                                                          int64_t period, int64_t horizon) {
  const int64_t n = static_cast<int64_t>(history.size());
  if (period < 1 || horizon < 1 || n < period) {
    return absl::InvalidArgumentError(absl::StrCat(
        "seasonal naive: period ", period, " and horizon ", horizon,
        " must be >= 1, with at least one season of history (", n, " values)"));
  }
  std::vector<double> out(horizon);
  for (int64_t k = 1; k <= horizon; ++k) {
    const int64_t seasons_back = (k + period - 1) / period;
    out[k - 1] = history[n - 1 + k - period * seasons_back];
  }
  return out;
}

absl::StatusOr<int64_t> DetectPeriod(absl::Span<const double> series,
                                     const PeriodOptions& options) {
  const int64_t n = static_cast<int64_t>(series.size());
  const int64_t max_lag = options.max_period;
  if (max_lag < 2 || n < max_lag + 3) {
    return absl::InvalidArgumentError(absl::StrCat(
        "period detection: max_period ", max_lag, " must be >= 2 and below the series' ", n,
        " values minus 2"));
  }
  std::vector<double> d(n - 1);
  double mean = 0;
  for (int64_t i = 0; i + 1 < n; ++i) mean += d[i] = series[i + 1] - series[i];
  mean /= static_cast<double>(d.size());
  double var = 0;
  for (double& v : d) {
    v -= mean;
    var += v * v;
  }
  if (!(var > 0)) return 1;
  // acf[l] for l in 0 .. max_lag + 1 (one past, to see whether max_lag is a local maximum).
  std::vector<double> acf(max_lag + 2);
  for (int64_t l = 0; l < static_cast<int64_t>(acf.size()); ++l) {
    double s = 0;
    for (size_t i = l; i < d.size(); ++i) s += d[i] * d[i - l];
    acf[l] = s / var;
  }
  int64_t best = 1;
  for (int64_t l = 2; l <= max_lag; ++l) {
    const bool peak = acf[l] > acf[l - 1] && acf[l] >= acf[l + 1];
    const bool higher = best == 1 ? acf[l] >= options.min_autocorrelation : acf[l] > acf[best];
    if (peak && higher) {
      best = l;
    }
  }
  return best;
}

}  // namespace tg
