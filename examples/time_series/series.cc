#include "examples/time_series/series.h"

#include <cmath>
#include <utility>

#include "absl/strings/str_cat.h"
#include "examples/common/csv_series.h"
#include "examples/time_series/mackey_glass.h"

namespace tg::examples {

absl::StatusOr<Series> LoadSeries(const std::string& csv, const std::string& column,
                                  int64_t mackey_glass_length) {
  Series s;
  if (!csv.empty()) {
    absl::StatusOr<std::vector<double>> values = ReadCsvColumn(csv, column);
    if (!values.ok()) return values.status();
    s.values = std::move(*values);
    s.description = absl::StrCat(csv, " column \"", column, "\"");
    s.title = column;
  } else {
    s.values = MackeyGlass({.keep = mackey_glass_length});
    s.description = "Mackey-Glass (tau 17)";
    s.title = "Mackey-Glass";
  }
  absl::StrAppend(&s.description, ", ", s.values.size(), " samples");
  return s;
}

SplitSizes SplitFor(int64_t samples, const TimeSeriesOptions& options) {
  const auto round = [](double v) { return static_cast<int64_t>(std::llround(v)); };
  const int64_t test = round(options.test_fraction * static_cast<double>(samples));
  const int64_t valid = round(options.valid_fraction * static_cast<double>(samples - test));
  return {.window = options.window, .horizon = options.horizon, .test_samples = test,
          .valid_samples = valid};
}

absl::StatusOr<WindowTask> MakeTask(std::vector<double> series, const TimeSeriesOptions& options) {
  const SplitSizes sizes = SplitFor(static_cast<int64_t>(series.size()), options);
  return MakeWindowTask(std::move(series), sizes, options.norm, options.scale_floor);
}

}  // namespace tg::examples
