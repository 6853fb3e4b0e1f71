// ReadCsvColumn on arbitrary bytes. The input's first line names the column to read and the
// rest is the CSV file. The column is refused with a Status or read as finite numbers.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "examples/common/csv_series.h"
#include "fuzz/scratch_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string path = tg::fuzz::ScratchPath("series.csv");
  const std::string input(reinterpret_cast<const char*>(data), size);
  const size_t newline = input.find('\n');
  const std::string column = input.substr(0, newline);
  const std::string file = newline == std::string::npos ? "" : input.substr(newline + 1);
  tg::fuzz::WriteScratch(path, reinterpret_cast<const uint8_t*>(file.data()), file.size());
  absl::StatusOr<std::vector<double>> values = tg::examples::ReadCsvColumn(path, column);
  if (!values.ok()) return 0;
  for (double v : *values) {
    if (!std::isfinite(v)) {
      std::fprintf(stderr, "csv_series fuzz: a cell read as %g\n", v);
      std::abort();
    }
  }
  // Splitting never loses a comma outside quotes: a line without quotes has commas + 1 cells.
  const std::string line = file.substr(0, file.find('\n'));
  if (line.find('"') == std::string::npos) {
    size_t commas = 0;
    for (char c : line) commas += c == ',';
    if (tg::examples::SplitCsvLine(line).size() != commas + 1) {
      std::fprintf(stderr, "csv_series fuzz: SplitCsvLine lost a cell\n");
      std::abort();
    }
  }
  return 0;
}
