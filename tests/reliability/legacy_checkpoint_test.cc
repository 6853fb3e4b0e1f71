// char_lm checkpoints of the two-file layout (<name>.safetensors with the tensors,
// <name>.safetensors.json with the run info) still load; saving over one writes the one-file
// layout and drops the stale .json. The fixture in testdata/legacy_two_file was written by
// char_lm before the run info moved into the metadata:
//   char_lm --data=tests/reliability/testdata/tiny.txt --hidden=4 --embedding=2 --seq=8
//           --batch=2 --max_updates=3 --average=0.99 --dropout=0.1 --threads=1
#include <filesystem>
#include <span>
#include <string>
#include <vector>

#include "examples/char_lm/char_checkpoint.h"
#include "examples/char_lm/model.h"
#include "examples/char_lm/run_info.h"
#include "gtest/gtest.h"
#include "models/optimizers.h"
#include "models/safetensors.h"
#include "models/weight_average.h"
#include "tests/reliability/scratch.h"

namespace tg::reliability {
namespace {

namespace fs = std::filesystem;
using examples::CharModel;
using examples::RunInfo;
using examples::TrainingState;

// A copy of the fixture, so that saving over it leaves the source tree alone.
std::string CopyLegacyFixture() {
  const std::string dir = ScratchDir();
  for (const char* name : {"char_lm.safetensors", "char_lm.safetensors.json"}) {
    fs::copy_file(fs::path(TG_RELIABILITY_TESTDATA) / "legacy_two_file" / name,
                  fs::path(dir) / name);
  }
  return dir + "/char_lm.safetensors";
}

TEST(LegacyCheckpointTest, TwoFileCheckpointLoadsAndIsRewrittenAsOneFile) {
  const std::string path = CopyLegacyFixture();
  absl::StatusOr<RunInfo> info = examples::LoadRunInfo(path);
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->model.cell, "lstm");
  EXPECT_EQ(info->model.num_layers, 1);
  EXPECT_EQ(info->model.vocab_size, 36);
  EXPECT_EQ(info->model.embedding_dim, 2);
  EXPECT_EQ(info->model.hidden_size, 4);
  EXPECT_EQ(info->model.dropout, 0.1);
  EXPECT_EQ(info->average_decay, 0.99);
  EXPECT_EQ(info->vocab.size(), 36u);
  EXPECT_GT(info->train_seconds, 0);
  EXPECT_TRUE(info->flags.empty());

  ParameterStore store({.seed = 5});
  absl::StatusOr<CharModel> model = CharModel::Create(store, info->model);
  ASSERT_TRUE(model.ok()) << model.status();
  Adam adam(store);
  WeightAverage average(store, adam, {.decay = info->average_decay});
  absl::StatusOr<TrainingState> state = examples::LoadCharCheckpoint(path, store, average);
  ASSERT_TRUE(state.ok()) << state.status();
  EXPECT_TRUE(state->carried.empty());  // not saved then: the streams restart from zero
  EXPECT_TRUE(state->dropout_rng.empty());
  EXPECT_FALSE(state->compiled_runs.has_value());
  ASSERT_EQ(adam.StateTensors()[0].first, "optimizer.step");
  EXPECT_EQ(*adam.StateTensors()[0].second.data<double>(), 3);  // the update count
  // Every parameter holds the file's values.
  absl::StatusOr<SafetensorsFile> file = ReadSafetensors(path);
  ASSERT_TRUE(file.ok()) << file.status();
  for (const Parameter& p : store.parameters()) {
    const NamedTensor* t = file->Find(p.name());
    ASSERT_NE(t, nullptr) << p.name();
    std::span<const float> v = p.value().span<float>();
    EXPECT_EQ(std::vector<float>(v.begin(), v.end()),
              std::vector<float>(t->values<float>().begin(), t->values<float>().end()))
        << p.name();
  }

  // Saved again: one file, whose metadata now holds the run info; the .json is gone.
  ASSERT_TRUE(examples::SaveCharCheckpoint(path, store, average, *info, *state).ok());
  EXPECT_EQ(Listing(fs::path(path).parent_path()), std::vector<std::string>{"char_lm.safetensors"});
  absl::StatusOr<RunInfo> again = examples::LoadRunInfo(path);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->vocab, info->vocab);
  EXPECT_EQ(again->train_seconds, info->train_seconds);  // exact through the metadata text
  EXPECT_EQ(again->model.dropout, info->model.dropout);
}

TEST(LegacyCheckpointTest, MissingRunInfoNamesBothPlaces) {
  const std::string path = CopyLegacyFixture();
  fs::remove(path + ".json");
  absl::StatusOr<RunInfo> info = examples::LoadRunInfo(path);
  ASSERT_FALSE(info.ok());
  EXPECT_NE(info.status().message().find("has no char_lm run info in its metadata"),
            std::string::npos)
      << info.status();
  EXPECT_NE(info.status().message().find(path + ".json"), std::string::npos) << info.status();
}

}  // namespace
}  // namespace tg::reliability
