#include "examples/common/plot.h"

#include <cstdio>
#include <fstream>
#include <sys/wait.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"

namespace tg::examples {
namespace {

std::string Quoted(const std::string& text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

int ColumnIndex(const std::vector<std::string>& header, const std::string& name) {
  for (size_t i = 0; i < header.size(); ++i) {
    if (header[i] == name) return static_cast<int>(i);
  }
  return -1;
}

// The series' (x, y) rows as a gnuplot data block: the data travels inside the script, so
// filtering needs no temporary files.
absl::Status DataBlock(const PlotSeries& series, int index, std::string* out) {
  std::ifstream in(series.csv);
  if (!in) return absl::NotFoundError(absl::StrCat("plot: cannot read CSV file '", series.csv, "'"));
  std::string line;
  std::getline(in, line);
  std::vector<std::string> header = absl::StrSplit(line, ',');
  const int x = ColumnIndex(header, series.x), y = ColumnIndex(header, series.y);
  const int filter = series.filter_column.empty() ? -2 : ColumnIndex(header, series.filter_column);
  const int high = series.y_high.empty() ? -2 : ColumnIndex(header, series.y_high);
  for (auto [name, at] :
       {std::pair{series.x, x}, std::pair{series.y, y}, std::pair{series.filter_column, filter},
        std::pair{series.y_high, high}}) {
    if (at == -1) {
      return absl::InvalidArgumentError(
          absl::StrCat("plot: CSV file '", series.csv, "' has no column '", name, "'"));
    }
  }
  absl::StrAppend(out, "$data", index, " << EOD\n");
  while (std::getline(in, line)) {
    std::vector<std::string> cells = absl::StrSplit(line, ',');
    if (static_cast<int>(cells.size()) != static_cast<int>(header.size())) continue;
    if (filter >= 0 && cells[filter] != series.filter_value) continue;
    absl::StrAppend(out, cells[x], " ", cells[y]);
    if (high >= 0) absl::StrAppend(out, " ", cells[high]);
    absl::StrAppend(out, "\n");
  }
  absl::StrAppend(out, "EOD\n");
  return absl::OkStatus();
}

}  // namespace

absl::Status PlotScript(const PlotSpec& spec, std::string* script) {
  std::string s;
  for (size_t i = 0; i < spec.series.size(); ++i) {
    if (absl::Status st = DataBlock(spec.series[i], static_cast<int>(i), &s); !st.ok()) return st;
  }
  absl::StrAppend(&s, absl::StrFormat("set terminal pngcairo size %d,%d noenhanced\n", spec.width,
                                      spec.height));
  absl::StrAppend(&s, "set output ", Quoted(spec.png), "\n");
  absl::StrAppend(&s, "set title ", Quoted(spec.title), "\n");
  absl::StrAppend(&s, "set xlabel ", Quoted(spec.xlabel), "\nset ylabel ", Quoted(spec.ylabel), "\n");
  absl::StrAppend(&s, "set grid\nset key ", spec.key, "\n");
  if (spec.logx) absl::StrAppend(&s, "set logscale x\n");
  if (spec.logy) absl::StrAppend(&s, "set logscale y\n");
  absl::StrAppend(&s, "plot ");
  for (size_t i = 0; i < spec.series.size(); ++i) {
    const PlotSeries& series = spec.series[i];
    const std::string& title = series.title.empty() ? series.y : series.title;
    if (series.y_high.empty()) {
      absl::StrAppend(&s, i ? ", " : "", "$data", i, " using 1:2 with ", series.style,
                      " linewidth 2 title ", Quoted(title));
    } else {
      absl::StrAppend(&s, i ? ", " : "", "$data", i,
                      " using 1:2:3 with filledcurves fillstyle transparent solid 0.3 noborder"
                      " title ", Quoted(title));
    }
  }
  absl::StrAppend(&s, "\n");
  *script = std::move(s);
  return absl::OkStatus();
}

absl::Status WritePlot(const PlotSpec& spec) {
  std::string script;
  if (absl::Status s = PlotScript(spec, &script); !s.ok()) return s;
  if (std::system("command -v gnuplot >/dev/null 2>&1") != 0) {
    return absl::FailedPreconditionError(
        "plot: gnuplot is not installed (scripts/setup.sh installs Debian's gnuplot-nox)");
  }
  std::FILE* pipe = popen("gnuplot", "w");
  if (pipe == nullptr) return absl::InternalError("plot: cannot start gnuplot");
  std::fwrite(script.data(), 1, script.size(), pipe);
  const int status = pclose(pipe);
  if (status != 0) {
    return absl::InternalError(absl::StrFormat("plot: gnuplot failed (exit status %d) writing '%s'",
                                               WEXITSTATUS(status), spec.png));
  }
  return absl::OkStatus();
}

}  // namespace tg::examples
