// char_lm's one-file checkpoint: run info and training state round-trip exactly through the
// safetensors metadata and "extra." tensors, and what does not fit is refused by name.
#include "examples/char_lm/char_checkpoint.h"

#include <map>
#include <string>
#include <vector>

#include "base/random.h"
#include "examples/char_lm/model.h"
#include "examples/char_lm/run_info.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "models/checkpoint.h"
#include "models/optimizers.h"
#include "tests/reliability/scratch.h"

namespace tg::reliability {
namespace {

using examples::CharModel;
using examples::RunInfo;
using examples::TrainingState;
using ::testing::HasSubstr;

constexpr int64_t kBatch = 2, kHidden = 4;

RunInfo Info() {
  return {.model = {.cell = "lstm",
                    .num_layers = 1,
                    .vocab_size = 5,
                    .embedding_dim = 3,
                    .hidden_size = kHidden,
                    .dropout = 0.1,
                    .forget_bias = 1},
          .vocab = "abcd\n",
          .average_decay = 0.997,
          .train_seconds = 12.345678901234567,
          .flags = {{"batch", "2"}, {"seed", "7"}}};
}

std::vector<std::string> ValueBytes(const ParameterStore& store) {
  std::vector<std::string> out;
  for (const Parameter& p : store.parameters()) {
    out.emplace_back(static_cast<const char*>(p.value().raw()), p.value().num_bytes());
  }
  return out;
}

// A model of Info()'s shape with its Adam.
struct TinyModel {
  explicit TinyModel(uint64_t seed)
      : store({.seed = seed}), model(*CharModel::Create(store, Info().model)), adam(store) {}
  ParameterStore store;
  CharModel model;
  Adam adam;
};

TEST(CharCheckpointTest, RunInfoAndTrainingStateRoundTripExactly) {
  const std::string path = ScratchDir() + "/c.safetensors";
  TinyModel saved(1), loaded(2);
  TrainingState state;
  HostState layer{.shape = {kBatch, kHidden}, .dtype = DType::kF32};
  for (int64_t i = 0; i < kBatch * kHidden; ++i) {
    layer.h.push_back(static_cast<float>(i) / 7.0f);
    layer.c.push_back(-static_cast<float>(i) / 3.0f);
  }
  state.carried = {layer};
  Rng rng(3);
  rng.NextBits();
  state.dropout_rng = rng.SaveState();
  state.compiled_runs = 17;
  state.last_train_loss = 1.2345678901234567;
  ASSERT_TRUE(examples::SaveCharCheckpoint(path, saved.store, saved.adam, Info(), state).ok());

  absl::StatusOr<RunInfo> info = examples::LoadRunInfo(path);
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->model.cell, "lstm");
  EXPECT_EQ(info->model.forget_bias, 1);
  EXPECT_EQ(info->model.dropout, 0.1);
  EXPECT_EQ(info->vocab, "abcd\n");
  EXPECT_EQ(info->average_decay, 0.997);
  EXPECT_EQ(info->train_seconds, 12.345678901234567);
  EXPECT_EQ(info->flags, Info().flags);

  absl::StatusOr<TrainingState> got = examples::LoadCharCheckpoint(path, loaded.store, loaded.adam);
  ASSERT_TRUE(got.ok()) << got.status();
  ASSERT_EQ(got->carried.size(), 1u);
  EXPECT_EQ(got->carried[0].shape, layer.shape);
  EXPECT_EQ(got->carried[0].h, layer.h);
  EXPECT_EQ(got->carried[0].c, layer.c);
  EXPECT_EQ(got->dropout_rng, state.dropout_rng);
  EXPECT_EQ(got->compiled_runs, 17u);
  EXPECT_EQ(got->last_train_loss, 1.2345678901234567);
  Graph g;
  EXPECT_TRUE(
      examples::CheckCarriedState(got->carried, loaded.model.ZeroState(g, kBatch), path).ok());
  EXPECT_EQ(ValueBytes(saved.store), ValueBytes(loaded.store));
}

TEST(CharCheckpointTest, CarriedStateOfAnotherShapeOrNameIsRefused) {
  const std::string path = ScratchDir() + "/c.safetensors";
  TinyModel s(1);
  Graph g;
  HostState wrong{.shape = {kBatch + 1, kHidden},
                  .dtype = DType::kF32,
                  .h = std::vector<double>((kBatch + 1) * kHidden),
                  .c = std::vector<double>((kBatch + 1) * kHidden)};
  absl::Status st = examples::CheckCarriedState({wrong}, s.model.ZeroState(g, kBatch), path);
  EXPECT_THAT(st.message(),
              HasSubstr("'extra.carried.l0.h' is [3,4], but the model and --batch need [2,4]"));
  HostState no_c{
      .shape = {kBatch, kHidden}, .dtype = DType::kF32, .h = std::vector<double>(kBatch * kHidden)};
  st = examples::CheckCarriedState({no_c}, s.model.ZeroState(g, kBatch), path);
  EXPECT_THAT(st.message(), HasSubstr("'extra.carried.l0.c' is missing"));

  // A tensor char_lm does not write.
  float x = 0;
  ASSERT_TRUE(SaveCheckpoint(path, s.store, &s.adam,
                             {.metadata = examples::RunInfoMetadata(Info()),
                              .tensors = {{"extra.mystery", Tensor(&x, DType::kF32, {1})}}})
                  .ok());
  absl::StatusOr<TrainingState> got = examples::LoadCharCheckpoint(path, s.store, s.adam);
  ASSERT_FALSE(got.ok());
  EXPECT_THAT(got.status().message(),
              HasSubstr("tensor 'extra.mystery' is not one char_lm writes"));
}

TEST(CharCheckpointTest, MalformedMetadataIsNamed) {
  const std::string path = ScratchDir() + "/c.safetensors";
  TinyModel s(1);
  std::map<std::string, std::string> meta = examples::RunInfoMetadata(Info());
  meta["char_lm.hidden_size"] = "four";
  ASSERT_TRUE(SaveCheckpoint(path, s.store, &s.adam, {.metadata = meta}).ok());
  absl::StatusOr<RunInfo> info = examples::LoadRunInfo(path);
  ASSERT_FALSE(info.ok());
  EXPECT_THAT(info.status().message(),
              HasSubstr("checkpoint '" + path +
                        "': metadata 'char_lm.hidden_size' is 'four', not a whole number"));
  meta = examples::RunInfoMetadata(Info());
  meta.erase("char_lm.vocab");
  ASSERT_TRUE(SaveCheckpoint(path, s.store, &s.adam, {.metadata = meta}).ok());
  info = examples::LoadRunInfo(path);
  EXPECT_THAT(info.status().message(), HasSubstr("metadata has no 'char_lm.vocab' entry"));
}

}  // namespace
}  // namespace tg::reliability
