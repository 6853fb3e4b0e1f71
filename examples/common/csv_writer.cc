#include "examples/common/csv_writer.h"

#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"

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
