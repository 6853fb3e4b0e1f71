// PNG plots of the examples' CSV files through gnuplot (Debian gnuplot-nox, installed by
// scripts/setup.sh). The CSV stays the source of truth; the plot is a picture of it.
//
//   PlotSpec spec{.png = "curve.png", .title = "char_lm", .xlabel = "update",
//                 .ylabel = "bits/char",
//                 .series = {{.csv = "curve.csv", .x = "update", .y = "valid_bpc"}}};
//   if (absl::Status s = WritePlot(spec); !s.ok()) ...
#pragma once

#include <string>
#include <vector>

#include "absl/status/status.h"

namespace tg::examples {

struct PlotSeries {
  std::string csv;          // a file written by CsvWriter (header row of column names)
  std::string x;            // column names
  std::string y;
  std::string title = "";   // legend; the y column's name when empty
  std::string style = "lines";  // gnuplot "with" style: lines, points, linespoints
  // Keep only rows whose column `filter_column` equals `filter_value` (e.g. one cell kind).
  std::string filter_column = "";
  std::string filter_value = "";
  // A band instead of a line: filled between column y and this column (e.g. an ensemble's
  // lowest and highest forecast); `style` is then ignored.
  std::string y_high = "";
};

struct PlotSpec {
  std::string png;
  std::string title = "";
  std::string xlabel = "";
  std::string ylabel = "";
  std::string key = "top right";  // gnuplot legend placement: "bottom left", "outside", ...
  bool logx = false;
  bool logy = false;
  int width = 900, height = 540;
  std::vector<PlotSeries> series = {};
};

// Runs gnuplot on a script built from `spec`. Errors: gnuplot missing (with the package to
// install), a series column absent from its CSV header, or gnuplot failing (its exit code).
absl::Status WritePlot(const PlotSpec& spec);

// The gnuplot script WritePlot runs (exposed for tests).
absl::Status PlotScript(const PlotSpec& spec, std::string* script);

}  // namespace tg::examples
