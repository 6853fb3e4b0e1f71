#include "models/ensemble.h"

#include <algorithm>
#include <cmath>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace tg {

absl::StatusOr<EnsembleForecast> AverageForecasts(const std::vector<std::vector<double>>& members) {
  if (members.empty()) return absl::InvalidArgumentError("ensemble: no member forecasts");
  const size_t n = members[0].size();
  for (size_t m = 1; m < members.size(); ++m) {
    if (members[m].size() != n) {
      return absl::InvalidArgumentError(absl::StrCat("ensemble: member ", m, " has ",
                                                     members[m].size(), " values, member 0 ", n));
    }
  }
  const double count = static_cast<double>(members.size());
  EnsembleForecast out{.mean = std::vector<double>(n), .spread = std::vector<double>(n),
                       .low = members[0], .high = members[0]};
  for (size_t i = 0; i < n; ++i) {
    double sum = 0;
    for (const std::vector<double>& f : members) {
      sum += f[i];
      out.low[i] = std::min(out.low[i], f[i]);
      out.high[i] = std::max(out.high[i], f[i]);
    }
    const double mean = sum / count;
    double var = 0;
    for (const std::vector<double>& f : members) var += (f[i] - mean) * (f[i] - mean);
    out.mean[i] = mean;
    out.spread[i] = std::sqrt(var / count);
  }
  return out;
}

}  // namespace tg
