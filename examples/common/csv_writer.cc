#include "examples/common/csv_writer.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace tg::examples {

absl::StatusOr<CsvWriter> CsvWriter::Open(const std::string& path,
                                          const std::vector<std::string>& columns) {
  std::FILE* file = std::fopen(path.c_str(), "w");
  if (file == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot write CSV file '", path, "': ", std::strerror(errno)));
  }
  CsvWriter writer(path, file, columns.size());
  if (absl::Status s = writer.Write(absl::StrJoin(columns, ","), columns.size()); !s.ok()) return s;
  return writer;
}

absl::StatusOr<CsvWriter> CsvWriter::Continue(const std::string& path,
                                              const std::vector<std::string>& columns,
                                              double up_to) {
  std::string text;
  {
    std::ifstream in(path, std::ios::binary);
    if (!in) return Open(path, columns);
    text.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  const std::string header = absl::StrJoin(columns, ",");
  std::vector<absl::string_view> lines = absl::StrSplit(text, '\n');
  // The last piece follows the last newline: empty, or a row cut off mid-write.
  lines.pop_back();
  if (lines.empty() || lines[0] != header) return Open(path, columns);
  std::string kept = header + "\n";
  for (size_t i = 1; i < lines.size(); ++i) {
    const absl::string_view first = lines[i].substr(0, lines[i].find(','));
    double x = 0;
    if (!absl::SimpleAtod(first, &x) || x > up_to) break;
    absl::StrAppend(&kept, lines[i], "\n");
  }
  // Replace the file in one step, so that a run stopped now still leaves the rows it had.
  const std::string temp = path + ".continue.tmp";
  {
    std::ofstream out(temp, std::ios::binary | std::ios::trunc);
    out << kept;
    if (!out.flush()) {
      return absl::InvalidArgumentError(absl::StrCat("cannot write CSV file '", temp, "'"));
    }
  }
  if (std::rename(temp.c_str(), path.c_str()) != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot rename '", temp, "' to '", path, "': ", std::strerror(errno)));
  }
  std::FILE* file = std::fopen(path.c_str(), "a");
  if (file == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot write CSV file '", path, "': ", std::strerror(errno)));
  }
  return CsvWriter(path, file, columns.size());
}

CsvWriter::CsvWriter(CsvWriter&& other) noexcept
    : path_(std::move(other.path_)), file_(std::exchange(other.file_, nullptr)),
      columns_(other.columns_) {}

CsvWriter::~CsvWriter() {
  if (file_ != nullptr) std::fclose(file_);
}

absl::Status CsvWriter::Write(const std::string& line, size_t cells) {
  if (cells != columns_) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "CSV file '%s': a row of %d values for %d columns", path_, cells, columns_));
  }
  if (std::fprintf(file_, "%s\n", line.c_str()) < 0 || std::fflush(file_) != 0) {
    return absl::InternalError(
        absl::StrCat("writing CSV file '", path_, "' failed: ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

absl::Status CsvWriter::Row(const std::vector<double>& values) {
  std::string line = absl::StrJoin(values, ",", [](std::string* out, double v) {
    absl::StrAppend(out, absl::StrFormat("%.9g", v));
  });
  return Write(line, values.size());
}

absl::Status CsvWriter::Row(const std::string& first, const std::vector<double>& rest) {
  std::string line = first;
  for (double v : rest) absl::StrAppend(&line, ",", absl::StrFormat("%.9g", v));
  return Write(line, rest.size() + 1);
}

}  // namespace tg::examples
