// What time_series reports: each forecaster's test nRMSE at every step 1..horizon, the
// summary lines (the last one is the headline: every forecaster at step horizon), the
// forecast and learning-curve CSVs, and their plots.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "examples/time_series/training.h"
#include "examples/time_series/windows.h"
#include "models/ensemble.h"

namespace tg::examples {

// One forecaster's test forecasts and their score at each step.
struct Scored {
  std::string name;  // as in the summary lines, e.g. "linear AR(60) levels"
  std::string column;  // in forecast.csv, e.g. "ar_levels"
  Forecasts forecasts;
  std::vector<double> nrmse;  // steps 1..horizon
};

// Scores `forecasts` of the test windows.
Scored Score(const WindowTask& task, std::string name, std::string column, Forecasts forecasts);

// The per-step table, then the mean over steps 1..horizon, then the headline as the last
// line: "test nRMSE, <h> steps ahead, <n> windows: <name> X  <name> X ...".
void PrintScores(const WindowTask& task, const std::vector<Scored>& scored);

// forecast.csv: for the first `rows` test windows, the index of the target `horizon` steps
// ahead, the truth, each forecaster's forecast of it, and the ensemble's lowest and highest
// member forecast.
absl::Status WriteForecastCsv(const std::string& path, const WindowTask& task, int64_t rows,
                              const std::vector<Scored>& scored, const EnsembleForecast& ensemble);

// curve.csv: every validation score of every model (its seed first).
absl::Status WriteCurveCsv(const std::string& path, const std::vector<MemberResult>& members);

// curve.png (validation nRMSE of each model against updates) and forecast.png (from
// forecast_plot.csv: the truth, the ensemble with its band, the AR on normalised windows and
// seasonal naive) in `dir`.
absl::Status PlotResults(const std::string& dir, const std::string& title, int64_t horizon,
                         const std::vector<MemberResult>& members,
                         const std::vector<Scored>& scored);

}  // namespace tg::examples
