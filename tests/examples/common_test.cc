// The examples' shared pieces: the text loader's refusals, the vocabulary, CSV rows, the
// gnuplot script and the progress line.
#include <cstdio>
#include <string>

#include "examples/common/csv_writer.h"
#include "examples/common/plot.h"
#include "examples/common/progress.h"
#include "examples/common/text_data.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/examples/temp_file_util.h"

namespace tg::examples {
namespace {

using ::testing::HasSubstr;
using test_util::ReadFile;
using test_util::TempPath;
using test_util::WriteFile;

TEST(TextDataTest, MissingFileIsRefusedWithItsPath) {
  auto text = LoadUtf8Text("/nonexistent/moby.txt");
  ASSERT_FALSE(text.ok());
  EXPECT_THAT(text.status().message(), HasSubstr("/nonexistent/moby.txt"));
}

TEST(TextDataTest, EmptyFileIsRefused) {
  auto text = LoadUtf8Text(WriteFile("empty.txt", ""));
  ASSERT_FALSE(text.ok());
  EXPECT_THAT(text.status().message(), HasSubstr("is empty"));
}

TEST(TextDataTest, InvalidUtf8IsRefusedWithOffsetLineAndColumn) {
  // "Call me\nIsh" then a lone continuation byte at offset 11, line 2, column 4.
  auto text = LoadUtf8Text(WriteFile("bad.txt", "Call me\nIsh\x80mael"));
  ASSERT_FALSE(text.ok());
  EXPECT_THAT(text.status().message(), HasSubstr("offset 11 (line 2, column 4)"));
  EXPECT_THAT(text.status().message(), HasSubstr("0x80"));
}

TEST(TextDataTest, TruncatedOverlongAndSurrogateSequencesAreRefused) {
  EXPECT_FALSE(CheckUtf8("ab\xE2\x82", "t").ok());      // euro sign cut short
  EXPECT_FALSE(CheckUtf8("\xC0\xAF", "t").ok());        // overlong '/'
  EXPECT_FALSE(CheckUtf8("\xED\xA0\x80", "t").ok());    // U+D800
  EXPECT_FALSE(CheckUtf8("\xF4\x90\x80\x80", "t").ok());  // above U+10FFFF
  EXPECT_TRUE(CheckUtf8("na\xC3\xAFve \xE2\x82\xAC \xF0\x9F\x90\x8B", "t").ok());
}

TEST(TextDataTest, VocabularyRoundTripsMultiByteCharacters) {
  const std::string text = "whale \xC3\xA9\xE2\x82\xAC whale";
  CharVocab vocab = CharVocab::FromText(text);
  EXPECT_EQ(vocab.size(), 8);  // ' ', a, e, h, l, w, U+00E9, U+20AC
  auto ids = vocab.Encode(text);
  ASSERT_TRUE(ids.ok());
  std::string decoded;
  for (int32_t id : *ids) decoded += vocab.Decode(id);
  EXPECT_EQ(decoded, text);
  auto again = CharVocab::Deserialize(vocab.Serialize());
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->chars(), vocab.chars());
  auto unknown = vocab.Encode("whale!");
  ASSERT_FALSE(unknown.ok());
  EXPECT_THAT(unknown.status().message(), HasSubstr("U+0021"));
}

TEST(CsvWriterTest, WritesHeaderAndRowsAndRefusesWrongWidths) {
  const std::string path = TempPath("rows.csv");
  {
    auto csv = CsvWriter::Open(path, {"cell", "T", "mse"});
    ASSERT_TRUE(csv.ok());
    ASSERT_TRUE(csv->Row("lstm", {50, 0.0025}).ok());
    absl::Status wrong = csv->Row({1, 2});
    EXPECT_THAT(wrong.message(), HasSubstr("2 values for 3 columns"));
  }
  EXPECT_EQ(ReadFile(path), "cell,T,mse\nlstm,50,0.0025\n");
  EXPECT_FALSE(CsvWriter::Open("/nonexistent/dir/x.csv", {"a"}).ok());
}

TEST(CsvWriterTest, ContinueKeepsRowsUpToTheResumedPointAndAppends) {
  // Rows after update 10 came from a run that stopped before checkpointing them; the last
  // one was cut off mid-write.
  std::string path = WriteFile("continue.csv", "update,loss\n5,2.5\n10,2\n15,1.5\n2");
  {
    auto csv = CsvWriter::Continue(path, {"update", "loss"}, 10);
    ASSERT_TRUE(csv.ok()) << csv.status();
    ASSERT_TRUE(csv->Row({15, 1.25}).ok());
  }
  EXPECT_EQ(ReadFile(path), "update,loss\n5,2.5\n10,2\n15,1.25\n");
  // Other columns, or no file: a fresh one.
  {
    auto csv = CsvWriter::Continue(path, {"update", "other"}, 10);
    ASSERT_TRUE(csv.ok()) << csv.status();
  }
  EXPECT_EQ(ReadFile(path), "update,other\n");
  std::filesystem::remove(path);
  {
    auto csv = CsvWriter::Continue(path, {"update", "loss"}, 10);
    ASSERT_TRUE(csv.ok()) << csv.status();
  }
  EXPECT_EQ(ReadFile(path), "update,loss\n");
}

TEST(PlotTest, ScriptCarriesFilteredDataAndNamesMissingColumns) {
  const std::string path = TempPath("plot.csv");
  {
    auto csv = CsvWriter::Open(path, {"cell", "t", "norm"});
    ASSERT_TRUE(csv.ok());
    ASSERT_TRUE(csv->Row("rnn", {0, 1.5}).ok());
    ASSERT_TRUE(csv->Row("lstm", {0, 2.5}).ok());
  }
  PlotSpec spec{.png = TempPath("p.png"), .title = "flow", .logy = true,
                .series = {{.csv = path, .x = "t", .y = "norm", .title = "LSTM",
                            .filter_column = "cell", .filter_value = "lstm"}}};
  std::string script;
  ASSERT_TRUE(PlotScript(spec, &script).ok());
  EXPECT_THAT(script, HasSubstr("$data0 << EOD\n0 2.5\nEOD\n"));
  EXPECT_THAT(script, HasSubstr("set logscale y"));
  EXPECT_THAT(script, HasSubstr("title \"LSTM\""));
  spec.series[0].y = "missing";
  absl::Status bad = PlotScript(spec, &script);
  EXPECT_THAT(bad.message(), HasSubstr("no column 'missing'"));
}

TEST(PlotTest, ABandCarriesBothColumnsAndIsFilled) {
  const std::string path = TempPath("band.csv");
  {
    auto csv = CsvWriter::Open(path, {"index", "low", "high"});
    ASSERT_TRUE(csv.ok());
    ASSERT_TRUE(csv->Row({7, 1.5, 2.5}).ok());
  }
  PlotSpec spec{.png = TempPath("band.png"),
                .series = {{.csv = path, .x = "index", .y = "low", .title = "spread",
                            .y_high = "high"}}};
  std::string script;
  ASSERT_TRUE(PlotScript(spec, &script).ok());
  EXPECT_THAT(script, HasSubstr("$data0 << EOD\n7 1.5 2.5\nEOD\n"));
  EXPECT_THAT(script, HasSubstr("using 1:2:3 with filledcurves"));
  spec.series[0].y_high = "top";
  EXPECT_THAT(PlotScript(spec, &script).message(), HasSubstr("no column 'top'"));
}

TEST(PlotTest, GnuplotWritesAPng) {
  if (std::system("command -v gnuplot >/dev/null 2>&1") != 0) GTEST_SKIP() << "no gnuplot";
  const std::string path = TempPath("curve.csv");
  {
    auto csv = CsvWriter::Open(path, {"step", "loss"});
    ASSERT_TRUE(csv.ok());
    for (int i = 0; i < 5; ++i) ASSERT_TRUE(csv->Row({double(i), 1.0 / (i + 1)}).ok());
  }
  const std::string png = TempPath("curve.png");
  ASSERT_TRUE(WritePlot({.png = png, .series = {{.csv = path, .x = "step", .y = "loss"}}}).ok());
  EXPECT_EQ(ReadFile(png).substr(1, 3), "PNG");
}

TEST(ProgressTest, PlainLinesOffATerminalBarOnOne) {
  for (int terminal : {0, 1}) {
    const std::string path = TempPath("progress.txt");
    std::FILE* out = std::fopen(path.c_str(), "w");
    Progress progress({.total = 10, .unit = "chars", .out = out, .force_terminal = terminal});
    progress.Update(5, 500, {{"loss", 1.25}});
    progress.Finish();
    std::fclose(out);
    std::string text = ReadFile(path);
    EXPECT_THAT(text, HasSubstr("step 5/10  loss 1.25"));
    if (terminal) EXPECT_THAT(text, HasSubstr("[############............]"));
    else EXPECT_THAT(text, ::testing::Not(HasSubstr("[#")));
  }
  EXPECT_EQ(FormatDuration(65), "1:05");
  EXPECT_EQ(FormatDuration(3723), "1:02:03");
}

}  // namespace
}  // namespace tg::examples
