// char_lm's run info, in a checkpoint's metadata and in the older <checkpoint>.json: a round
// trip, and the refusals of numbers that do not fit the model's integer fields (found by
// fuzz/run_info_fuzz.cc: 1e300 as a layer count was undefined behaviour in the conversion to
// int).
#include "examples/char_lm/run_info.h"

#include <filesystem>
#include <fstream>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "models/safetensors.h"

namespace tg::examples {
namespace {

using ::testing::HasSubstr;

// An older two-file checkpoint: no run info in its metadata, `json` in the file beside it.
std::string CheckpointWithInfo(const std::string& name, const std::string& json) {
  const std::string checkpoint = (std::filesystem::path(::testing::TempDir()) / name).string();
  EXPECT_TRUE(WriteSafetensors(checkpoint, {}).ok());
  std::ofstream(checkpoint + ".json", std::ios::binary) << json;
  return checkpoint;
}

// A valid run info with `field` set to `value` (JSON text).
std::string InfoWith(const std::string& field, const std::string& value) {
  std::string json = R"({"cell": "lstm", "num_layers": 2, "vocab_size": 5, "embedding_dim": 16,
      "hidden_size": 64, "dropout": 0.1, "vocab": "abcde", "train_seconds": 3.5})";
  const size_t at = json.find("\"" + field + "\": ") + field.size() + 4;
  json.replace(at, json.find_first_of(",}", at) - at, value);
  return json;
}

TEST(RunInfoTest, MetadataReadsBack) {
  RunInfo info;
  info.model = {.cell = "gru", .num_layers = 3, .vocab_size = 7, .embedding_dim = 8,
                .hidden_size = 32, .dropout = 0.25};
  info.vocab = "abcdefg";
  info.average_decay = 0.99;
  info.train_seconds = 12.5;
  absl::StatusOr<RunInfo> loaded = RunInfoFromMetadata(RunInfoMetadata(info), "saved");
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(loaded->model.cell, "gru");
  EXPECT_EQ(loaded->model.num_layers, 3);
  EXPECT_EQ(loaded->model.vocab_size, 7);
  EXPECT_EQ(loaded->model.embedding_dim, 8);
  EXPECT_EQ(loaded->model.hidden_size, 32);
  EXPECT_EQ(loaded->model.dropout, 0.25);
  EXPECT_EQ(loaded->vocab, "abcdefg");
  EXPECT_EQ(loaded->average_decay, 0.99);
  EXPECT_EQ(loaded->train_seconds, 12.5);
}

TEST(RunInfoTest, TheTestInfoIsValid) {
  absl::StatusOr<RunInfo> info = LoadRunInfo(CheckpointWithInfo("valid", InfoWith("num_layers", "2")));
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->model.num_layers, 2);
  EXPECT_EQ(info->model.hidden_size, 64);
}

TEST(RunInfoTest, RefusesALayerCountBeyondInt) {
  for (const char* value : {"1e300", "4294967297", "2.5", "\"2\""}) {
    const std::string checkpoint = CheckpointWithInfo("layers", InfoWith("num_layers", value));
    absl::StatusOr<RunInfo> info = LoadRunInfo(checkpoint);
    ASSERT_FALSE(info.ok()) << value;
    EXPECT_EQ(info.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(info.status().message(), HasSubstr(checkpoint + ".json"));
    EXPECT_THAT(info.status().message(), HasSubstr("\"num_layers\" is "));
    EXPECT_THAT(info.status().message(), HasSubstr("an integer in [1, 2147483647]"));
  }
}

TEST(RunInfoTest, RefusesSizesThatAreNotPositiveIntegers) {
  for (const char* field : {"vocab_size", "embedding_dim", "hidden_size"}) {
    for (const char* value : {"0", "-3", "1e30", "18446744073709551615"}) {
      absl::StatusOr<RunInfo> info =
          LoadRunInfo(CheckpointWithInfo("sizes", InfoWith(field, value)));
      ASSERT_FALSE(info.ok()) << field << " = " << value;
      EXPECT_THAT(info.status().message(), HasSubstr(std::string("\"") + field + "\" is "));
      EXPECT_THAT(info.status().message(), HasSubstr("an integer in [1, 9223372036854775807]"));
    }
  }
}

TEST(RunInfoTest, MetadataRefusesALayerCountBeyondInt) {
  RunInfo info;
  info.model = {.cell = "lstm", .num_layers = 2, .vocab_size = 5, .embedding_dim = 16,
                .hidden_size = 64};
  for (const char* value : {"1e300", "4294967297", "2.5", "0", "-1"}) {
    std::map<std::string, std::string> metadata = RunInfoMetadata(info);
    metadata["char_lm.num_layers"] = value;
    absl::StatusOr<RunInfo> loaded = RunInfoFromMetadata(metadata, "ckpt.safetensors");
    ASSERT_FALSE(loaded.ok()) << value;
    EXPECT_THAT(loaded.status().message(), HasSubstr("'char_lm.num_layers' is"));
    EXPECT_THAT(loaded.status().message(), HasSubstr("whole number in [1, 2147483647]"));
  }
}

TEST(RunInfoTest, MissingFieldIsNamed) {
  const std::string checkpoint = CheckpointWithInfo("missing", R"({"cell": "lstm"})");
  absl::StatusOr<RunInfo> info = LoadRunInfo(checkpoint);
  ASSERT_FALSE(info.ok());
  EXPECT_THAT(info.status().message(), HasSubstr("num_layers"));
}

}  // namespace
}  // namespace tg::examples
