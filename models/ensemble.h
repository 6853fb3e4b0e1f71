/// \file
/// Averaging the forecasts of several models trained from different seeds (an ensemble):
/// the mean is usually better than each member (their errors are partly independent), and
/// the spread across members is a rough band of the models' uncertainty.
#pragma once

#include <vector>

#include "absl/status/statusor.h"

namespace tg {

/// The members' forecasts combined value by value.
struct EnsembleForecast {
  std::vector<double> mean;    ///< The average of the members.
  std::vector<double> spread;  ///< Their standard deviation (population; 0 for one member).
  std::vector<double> low;     ///< The smallest member value.
  std::vector<double> high;    ///< The largest member value.
};

/// Combines `members` (one forecast vector per model, all the same length).
/// InvalidArgument when there are none, or naming the member whose length differs.
absl::StatusOr<EnsembleForecast> AverageForecasts(const std::vector<std::vector<double>>& members);

}  // namespace tg
