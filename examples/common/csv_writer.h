// Results as CSV files (one header row, then numbers), for plots and for anyone's own
// analysis. Errors name the file.
#pragma once

#include <cstdio>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace tg::examples {

class CsvWriter {
 public:
  // Creates (truncates) `path` and writes the header row.
  static absl::StatusOr<CsvWriter> Open(const std::string& path, const std::vector<std::string>& columns);
  // Continues the file of a resumed run at row `up_to`: keeps the header and every complete
  // row whose first cell is at most `up_to` (a stopped run may have written rows after its
  // last checkpoint), drops the rest and appends from there. A missing file, or one with
  // other columns, is started afresh as Open does.
  static absl::StatusOr<CsvWriter> Continue(const std::string& path,
                                            const std::vector<std::string>& columns,
                                            double up_to);
  CsvWriter(CsvWriter&& other) noexcept;
  CsvWriter& operator=(CsvWriter&&) = delete;
  CsvWriter(const CsvWriter&) = delete;
  ~CsvWriter();

  // One row of as many numbers as there are columns (%.9g), flushed so that a run stopped
  // half-way still leaves every finished row on disk.
  absl::Status Row(const std::vector<double>& values);
  // One row whose first cell is text (e.g. a cell kind), the rest numbers.
  absl::Status Row(const std::string& first, const std::vector<double>& rest);
  const std::string& path() const { return path_; }

 private:
  CsvWriter(std::string path, std::FILE* file, size_t columns)
      : path_(std::move(path)), file_(file), columns_(columns) {}
  absl::Status Write(const std::string& line, size_t cells);

  std::string path_;
  std::FILE* file_ = nullptr;
  size_t columns_ = 0;
};

}  // namespace tg::examples
