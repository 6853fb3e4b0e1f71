// Where the series comes from (a CSV column or the Mackey-Glass equation) and how the
// command line's fractions turn into the task's split.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "examples/time_series/options.h"
#include "examples/time_series/windows.h"

namespace tg::examples {

struct Series {
  std::vector<double> values;
  std::string description;  // e.g. `data/sunspots.csv column "sunspots", 3177 samples`
  std::string title;        // for plots: the column, or "Mackey-Glass"
};

// Column `column` of `csv`, or with an empty csv `mackey_glass_length` samples of
// Mackey-Glass. CSV errors name the file and the line (a missing or non-numeric cell).
absl::StatusOr<Series> LoadSeries(const std::string& csv, const std::string& column,
                                  int64_t mackey_glass_length);

// The split of `samples` samples per the options: the test tail is test_fraction of all
// samples, the validation part valid_fraction of those before it (both rounded).
SplitSizes SplitFor(int64_t samples, const TimeSeriesOptions& options);

// MakeWindowTask with the options' split and normalisation.
absl::StatusOr<WindowTask> MakeTask(std::vector<double> series, const TimeSeriesOptions& options);

}  // namespace tg::examples
