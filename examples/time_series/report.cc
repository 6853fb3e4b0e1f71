#include "examples/time_series/report.h"

#include <algorithm>
#include <cstdio>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "examples/common/csv_writer.h"
#include "examples/common/plot.h"

namespace tg::examples {
namespace {

// "<name> X  <name> X ..." with the value of each forecaster that `pick` selects.
template <typename Pick>
std::string Listing(const std::vector<Scored>& scored, Pick pick) {
  std::string line;
  for (const Scored& s : scored) {
    absl::StrAppend(&line, line.empty() ? "" : "  ", s.name, absl::StrFormat(" %.4f", pick(s)));
  }
  return line;
}

}  // namespace

Scored Score(const WindowTask& task, std::string name, std::string column, Forecasts forecasts) {
  std::vector<double> nrmse = NrmsePerStep(task, task.test_begin, task.num_test, forecasts);
  return {.name = std::move(name), .column = std::move(column), .forecasts = std::move(forecasts),
          .nrmse = std::move(nrmse)};
}

void PrintScores(const WindowTask& task, const std::vector<Scored>& scored) {
  std::printf("test nRMSE at each step ahead (%lld windows):\n  step",
              static_cast<long long>(task.num_test));
  for (const Scored& s : scored) std::printf("  %s", s.name.c_str());
  std::printf("\n");
  for (int64_t k = 0; k < task.horizon; ++k) {
    std::printf("  %4lld", static_cast<long long>(k + 1));
    for (const Scored& s : scored) {
      std::printf("  %*.4f", static_cast<int>(s.name.size()), s.nrmse[k]);
    }
    std::printf("\n");
  }
  const long long h = task.horizon, n = task.num_test;
  std::printf("mean test nRMSE over steps 1..%lld, %lld windows: %s\n", h, n,
              Listing(scored, [](const Scored& s) { return MeanOf(s.nrmse); }).c_str());
  std::printf("test nRMSE, %lld steps ahead, %lld windows: %s\n", h, n,
              Listing(scored, [](const Scored& s) { return s.nrmse.back(); }).c_str());
}

absl::Status WriteForecastCsv(const std::string& path, const WindowTask& task, int64_t rows,
                              const std::vector<Scored>& scored, const EnsembleForecast& ensemble) {
  std::vector<std::string> columns = {"index", "truth"};
  for (const Scored& s : scored) columns.push_back(s.column);
  columns.insert(columns.end(), {"ensemble_low", "ensemble_high"});
  absl::StatusOr<CsvWriter> csv = CsvWriter::Open(path, columns);
  if (!csv.ok()) return csv.status();
  const int64_t h = task.horizon;
  for (int64_t i = 0; i < std::min(rows, task.num_test); ++i) {
    const int64_t w = task.test_begin + i, at = i * h + h - 1;
    std::vector<double> row = {static_cast<double>(task.target_index(w, h)), task.target(w, h)};
    for (const Scored& s : scored) row.push_back(s.forecasts[at]);
    row.push_back(ensemble.low[at]);
    row.push_back(ensemble.high[at]);
    if (absl::Status s = csv->Row(row); !s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::Status WriteCurveCsv(const std::string& path, const std::vector<MemberResult>& members) {
  absl::StatusOr<CsvWriter> csv =
      CsvWriter::Open(path, {"seed", "step", "train_loss", "valid_nrmse", "learning_rate"});
  if (!csv.ok()) return csv.status();
  for (const MemberResult& m : members) {
    for (const CurvePoint& p : m.curve) {
      absl::Status s = csv->Row(absl::StrCat(m.seed), {static_cast<double>(p.step), p.train_loss,
                                                       p.valid_nrmse, p.learning_rate});
      if (!s.ok()) return s;
    }
  }
  return absl::OkStatus();
}

absl::Status PlotResults(const std::string& dir, const std::string& title, int64_t horizon,
                         const std::vector<MemberResult>& members,
                         const std::vector<Scored>& scored) {
  const std::string curve = absl::StrCat(dir, "/curve.csv");
  PlotSpec curves{.png = absl::StrCat(dir, "/curve.png"),
                  .title = absl::StrCat(title, ": validation nRMSE (mean over steps 1..",
                                        horizon, ")"),
                  .xlabel = "update", .ylabel = "validation nRMSE", .logy = true};
  for (const MemberResult& m : members) {
    curves.series.push_back({.csv = curve, .x = "step", .y = "valid_nrmse",
                             .title = absl::StrCat("seed ", m.seed), .style = "linespoints",
                             .filter_column = "seed", .filter_value = absl::StrCat(m.seed)});
  }
  if (absl::Status s = WritePlot(curves); !s.ok()) return s;
  const std::string csv = absl::StrCat(dir, "/forecast_plot.csv");
  PlotSpec forecast{.png = absl::StrCat(dir, "/forecast.png"),
                    .title = absl::StrCat(title, ": forecasts ", horizon,
                                          " steps ahead on the test tail"),
                    .xlabel = "sample", .ylabel = "value",
                    .key = "outside bottom center horizontal"};
  forecast.series.push_back({.csv = csv, .x = "index", .y = "ensemble_low",
                             .title = "ensemble spread (lowest to highest model)",
                             .y_high = "ensemble_high"});
  forecast.series.push_back({.csv = csv, .x = "index", .y = "truth", .title = "truth"});
  for (const Scored& s : scored) {
    if (s.column == "lstm_ensemble" || s.column == "ar_levels" || s.column == "seasonal_naive") {
      forecast.series.push_back({.csv = csv, .x = "index", .y = s.column, .title = s.name});
    }
  }
  return WritePlot(forecast);
}

}  // namespace tg::examples
