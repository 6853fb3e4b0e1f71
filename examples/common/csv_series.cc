#include "examples/common/csv_series.h"

#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <fstream>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace tg::examples {
namespace {

// A cell without its surrounding spaces.
std::string Trimmed(const std::string& cell) {
  return std::string(absl::StripAsciiWhitespace(cell));
}

bool ParseNumber(const std::string& text, double* value) {
  if (text.empty()) return false;
  const char* begin = text.data();
  const char* end = begin + text.size();
  if (*begin == '+') ++begin;  // from_chars refuses a leading '+'
  auto [ptr, ec] = std::from_chars(begin, end, *value);
  return ec == std::errc() && ptr == end && std::isfinite(*value);
}

std::string Quote(const std::string& text) { return absl::StrCat("\"", text, "\""); }

}  // namespace

std::vector<std::string> SplitCsvLine(const std::string& line) {
  std::vector<std::string> cells;
  std::string cell;
  bool quoted = false;  // inside a quoted cell
  for (size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted) {
      if (c == '"') {
        if (i + 1 < line.size() && line[i + 1] == '"') {
          cell += '"';
          ++i;
        } else {
          quoted = false;
        }
      } else {
        cell += c;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      cells.push_back(Trimmed(cell));
      cell.clear();
    } else {
      cell += c;
    }
  }
  cells.push_back(Trimmed(cell));
  return cells;
}

absl::StatusOr<std::vector<double>> ReadCsvColumn(const std::string& path,
                                                  const std::string& column) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::NotFoundError(
        absl::StrCat("cannot open CSV file '", path, "': ", std::strerror(errno)));
  }
  std::string line;
  int64_t line_number = 0;
  // The header: the first line that is not blank.
  std::vector<std::string> header;
  while (std::getline(in, line)) {
    ++line_number;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (absl::StripAsciiWhitespace(line).empty()) continue;
    header = SplitCsvLine(line);
    break;
  }
  if (header.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("CSV file '", path, "' is empty (no header row)"));
  }
  size_t index = header.size();
  for (size_t i = 0; i < header.size(); ++i) {
    if (header[i] == column) {
      index = i;
      break;
    }
  }
  if (index == header.size()) {
    std::vector<std::string> names;
    for (const std::string& name : header) names.push_back(Quote(name));
    return absl::NotFoundError(absl::StrCat("CSV file '", path, "' has no column ", Quote(column),
                                            "; its columns are ", absl::StrJoin(names, ", ")));
  }
  std::vector<double> values;
  while (std::getline(in, line)) {
    ++line_number;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (absl::StripAsciiWhitespace(line).empty()) continue;
    std::vector<std::string> cells = SplitCsvLine(line);
    if (cells.size() <= index) {
      return absl::InvalidArgumentError(absl::StrCat(
          "CSV file '", path, "' line ", line_number, ": ", cells.size(), " cell(s), too few for column ",
          Quote(column), " (column ", index + 1, " of ", header.size(), ")"));
    }
    double value = 0;
    if (!ParseNumber(cells[index], &value)) {
      return absl::InvalidArgumentError(absl::StrCat("CSV file '", path, "' line ", line_number,
                                                     ": cell ", Quote(cells[index]), " of column ",
                                                     Quote(column), " is not a number"));
    }
    values.push_back(value);
  }
  if (in.bad()) {
    return absl::DataLossError(absl::StrCat("error reading CSV file '", path, "'"));
  }
  return values;
}

}  // namespace tg::examples
