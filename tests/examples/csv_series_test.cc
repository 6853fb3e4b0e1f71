// ReadCsvColumn: the series loader of examples/time_series, and each of its refusals.
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "examples/common/csv_series.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/examples/temp_file_util.h"

namespace tg::examples {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using test_util::WriteFile;

TEST(CsvSeriesTest, ReadsAColumnUnderAQuotedHeader) {
  // What R's write.csv(data.frame(time = ..., sunspots = ...), row.names = FALSE) writes.
  std::string path = WriteFile("sunspots.csv",
                               "\"time\",\"sunspots\"\n"
                               "1749,58\n"
                               "1749.08333333333,62.6\n"
                               "1749.16666666667,-7e-1\r\n"
                               "\n");
  auto values = ReadCsvColumn(path, "sunspots");
  ASSERT_TRUE(values.ok()) << values.status();
  EXPECT_THAT(*values, ElementsAre(58, 62.6, -0.7));
  auto times = ReadCsvColumn(path, "time");
  ASSERT_TRUE(times.ok()) << times.status();
  EXPECT_EQ(times->size(), 3u);
  EXPECT_DOUBLE_EQ((*times)[1], 1749.08333333333);
}

TEST(CsvSeriesTest, QuotedCellsMayHoldCommasAndQuotes) {
  EXPECT_THAT(SplitCsvLine("\"a,b\", \"say \"\"hi\"\"\" ,3"), ElementsAre("a,b", "say \"hi\"", "3"));
  std::string path = WriteFile("quoted.csv", "name,value\n\"x, y\",\"1.5\"\n");
  auto values = ReadCsvColumn(path, "value");
  ASSERT_TRUE(values.ok()) << values.status();
  EXPECT_THAT(*values, ElementsAre(1.5));
}

TEST(CsvSeriesTest, MissingFileIsRefusedWithItsPath) {
  auto values = ReadCsvColumn("/nonexistent/sunspots.csv", "sunspots");
  ASSERT_FALSE(values.ok());
  EXPECT_EQ(values.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(values.status().message(), HasSubstr("/nonexistent/sunspots.csv"));
}

TEST(CsvSeriesTest, EmptyFileIsRefused) {
  std::string path = WriteFile("empty.csv", "");
  auto values = ReadCsvColumn(path, "sunspots");
  ASSERT_FALSE(values.ok());
  EXPECT_THAT(values.status().message(), HasSubstr("is empty"));
  EXPECT_THAT(values.status().message(), HasSubstr(path));
}

TEST(CsvSeriesTest, UnknownColumnListsTheColumnsThereAre) {
  std::string path = WriteFile("columns.csv", "\"time\",\"x\"\n1,2\n");
  auto values = ReadCsvColumn(path, "sunspots");
  ASSERT_FALSE(values.ok());
  EXPECT_EQ(values.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(values.status().message(), HasSubstr("no column \"sunspots\""));
  EXPECT_THAT(values.status().message(), HasSubstr("its columns are \"time\", \"x\""));
}

TEST(CsvSeriesTest, NonNumericCellGivesLineAndText) {
  std::string path = WriteFile("text.csv", "time,x\n1,2\n2,3\n3,abc\n4,5\n");
  auto values = ReadCsvColumn(path, "x");
  ASSERT_FALSE(values.ok());
  EXPECT_EQ(values.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(values.status().message(), HasSubstr("line 4"));
  EXPECT_THAT(values.status().message(), HasSubstr("cell \"abc\""));
  // Partly numeric, empty and non-finite cells are refused too.
  for (const char* cell : {"1.5x", "", "NA", "nan", "inf"}) {
    std::string p = WriteFile("cell.csv", absl::StrCat("t,x\n1,", cell, "\n"));
    EXPECT_FALSE(ReadCsvColumn(p, "x").ok()) << cell;
  }
}

TEST(CsvSeriesTest, ShortRowGivesItsLine) {
  std::string path = WriteFile("short.csv", "time,x\n1,2\n\n2\n");
  auto values = ReadCsvColumn(path, "x");
  ASSERT_FALSE(values.ok());
  EXPECT_THAT(values.status().message(), HasSubstr("line 4"));
  EXPECT_THAT(values.status().message(), HasSubstr("too few"));
}

}  // namespace
}  // namespace tg::examples
