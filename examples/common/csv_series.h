// Reading one numeric column of a CSV file as a series (e.g. the monthly sunspot numbers that
// R's write.csv produces for examples/time_series).
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace tg::examples {

// The numbers of column `column` (named in the header row), in file order. Comma separated;
// a cell may be double-quoted (R's write.csv quotes the header and text cells; "" inside
// quotes is one quote); spaces around a cell and a trailing \r are ignored, as are blank
// lines. Errors name the path: a missing/unreadable file, an empty file (no header row), a
// column that is not there (listing the columns that are), a row with too few cells (its
// line number) and a cell that is not a finite number (its line number and text).
absl::StatusOr<std::vector<double>> ReadCsvColumn(const std::string& path,
                                                  const std::string& column);

// One CSV line split into cells, quotes removed (exposed for tests).
std::vector<std::string> SplitCsvLine(const std::string& line);

}  // namespace tg::examples
