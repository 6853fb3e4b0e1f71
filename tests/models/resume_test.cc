// Resuming a training loop from a checkpoint, bit for bit: a small LSTM trained with
// truncated BPTT, input dropout, Adam and a weight average is saved after step k, restored
// into fresh objects (a new store, model, optimizer, average and random stream) and
// continued; every loss, weight and optimizer state tensor must equal the uninterrupted
// run's exactly. Everything that shapes the future rides in the one checkpoint file: the
// carried recurrent state as "extra." tensors, the random streams' positions as metadata.
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "autodiff/backward.h"
#include "fmt/format.h"
#include "graph/compile/compiled_graph.h"
#include "gtest/gtest.h"
#include "models/checkpoint.h"
#include "models/layers.h"
#include "models/lstm_cell.h"
#include "models/optimizers.h"
#include "models/unroll.h"
#include "models/weight_average.h"
#include "ops/ops.h"
#include "testing/test_values.h"
#include "tests/scratch_files.h"

namespace tg {
namespace {

namespace fs = std::filesystem;

constexpr int64_t kSteps = 5, kBatch = 4, kIn = 3, kHidden = 8;
constexpr int kUpdates = 12, kStopAt = 5;  // a run stopped after kStopAt updates resumes
constexpr double kDropout = 0.25;
constexpr uint64_t kDropoutSeed = 11;

// A file in a fresh directory of the running test (one per test: a second call empties it).
std::string ScratchPath(const std::string& name) {
  return (fs::path(test_files::FreshScratchDir("tg_resume")) / name).string();
}

// Update u's inputs [T*B, I] and targets [T*B, 1]: a function of u alone (the data position
// is the update count, as in char_lm).
std::vector<float> Chunk(int u, int64_t n, uint64_t salt) {
  std::vector<double> d = testing::UniformValues(n, 1000 * static_cast<uint64_t>(u) + salt);
  return {d.begin(), d.end()};
}

// Bytes of tensors, for bitwise comparisons.
std::vector<std::string> Bytes(const std::vector<std::pair<std::string, Tensor>>& tensors) {
  std::vector<std::string> out;
  for (const auto& [name, t] : tensors) {
    out.push_back(name + ":" + std::string(static_cast<const char*>(t.raw()), t.num_bytes()));
  }
  return out;
}

// Everything a training run holds; built in place (the optimizers keep pointers).
struct Learner {
  explicit Learner(uint64_t init_seed)
      : store({.seed = init_seed}),
        lstm(*LstmCell::Create(store, {.input_size = kIn, .hidden_size = kHidden})),
        head(*Linear::Create(store, {.in_features = kHidden, .out_features = 1, .prefix = "head"})),
        adam(store, {.learning_rate = 1e-2}),
        average(store, adam, {.decay = 0.9}),
        dropout_rng(kDropoutSeed) {}

  // Inputs, dropout, LSTM from the carried state, linear head, mean squared error.
  Expr Loss(Graph& g, Expr xs, Expr ys, const State& s0, State* final, Rng& rng) const {
    UnrollResult r = Unroll(
        g, lstm, SplitSteps(Reshape(Dropout(g, xs, kDropout, rng), {kSteps, kBatch, kIn})), s0);
    if (final != nullptr) *final = r.final;
    return Mean(Square(head(g, StackSteps(r.outputs)) - ys));
  }

  // One eager update u: returns its loss.
  double Update(int u) {
    Graph g;
    std::vector<float> x = Chunk(u, kSteps * kBatch * kIn, 1), y = Chunk(u, kSteps * kBatch, 2);
    State s0 = carried.has_value() ? FeedIn(g, *carried) : lstm.ZeroState(g, kBatch);
    State final;
    Expr loss = Loss(g, g.Input({kSteps * kBatch, kIn}, x), g.Input({kSteps * kBatch, 1}, y), s0,
                     &final, dropout_rng);
    EXPECT_TRUE(Backward(loss).ok());
    ClipGradNorm(store, 1.0);
    EXPECT_TRUE(average.Step().ok());
    store.ZeroGrad();
    carried = *CopyOut(final);
    return *loss.Scalar();
  }

  std::vector<std::pair<std::string, Tensor>> All() {
    std::vector<std::pair<std::string, Tensor>> all = average.StateTensors();
    for (const Parameter& p : store.parameters()) all.emplace_back(p.name(), p.value());
    return all;
  }

  ParameterStore store;
  LstmCell lstm;
  Linear head;
  Adam adam;
  WeightAverage average;
  Rng dropout_rng;
  std::optional<HostState> carried;
};

// The carried state and random position as checkpoint extras, and back.
absl::Status Save(const std::string& path, Learner& l, std::map<std::string, std::string> meta,
                  std::vector<float>* h, std::vector<float>* c) {
  CheckpointExtras extras{.metadata = std::move(meta)};
  extras.metadata["dropout_rng"] = l.dropout_rng.SaveState();
  h->assign(l.carried->h.begin(), l.carried->h.end());
  c->assign(l.carried->c.begin(), l.carried->c.end());
  extras.tensors = {{"extra.carried.h", Tensor(h->data(), DType::kF32, l.carried->shape)},
                    {"extra.carried.c", Tensor(c->data(), DType::kF32, l.carried->shape)}};
  return SaveCheckpoint(path, l.store, &l.average, extras);
}

absl::StatusOr<LoadedExtras> Restore(const std::string& path, Learner& l) {
  LoadedExtras extras;
  absl::Status s = LoadCheckpoint(path, l.store, &l.average, &extras);
  if (!s.ok()) return s;
  EXPECT_TRUE(l.dropout_rng.RestoreState(extras.metadata.at("dropout_rng")));
  EXPECT_EQ(extras.tensors.size(), 2u);
  HostState carried{.shape = extras.tensors[0].shape, .dtype = DType::kF32};
  for (const NamedTensor& t : extras.tensors) {
    (t.name == "extra.carried.h" ? carried.h : carried.c) = t.ToDoubles();
  }
  l.carried = carried;
  return extras;
}

TEST(ResumeTest, EagerLstmWithAdamAndAverageContinuesBitForBit) {
  auto uninterrupted = std::make_unique<Learner>(1);
  std::vector<double> want;
  for (int u = 0; u < kUpdates; ++u) want.push_back(uninterrupted->Update(u));

  const std::string path = ScratchPath("eager.safetensors");
  std::vector<double> got;
  {
    auto first = std::make_unique<Learner>(1);
    for (int u = 0; u < kStopAt; ++u) got.push_back(first->Update(u));
    std::vector<float> h, c;
    ASSERT_TRUE(Save(path, *first, {}, &h, &c).ok());
  }                                             // everything of the first run is gone
  auto resumed = std::make_unique<Learner>(2);  // other initial weights: the load must set all
  resumed->dropout_rng = Rng(99);               // and another stream position
  ASSERT_TRUE(Restore(path, *resumed).ok());
  for (int u = kStopAt; u < kUpdates; ++u) got.push_back(resumed->Update(u));

  EXPECT_EQ(got, want);  // every loss, exactly
  EXPECT_EQ(Bytes(resumed->All()), Bytes(uninterrupted->All()));
  EXPECT_EQ(resumed->carried->h, uninterrupted->carried->h);
  EXPECT_EQ(resumed->carried->c, uninterrupted->carried->c);
}

// The compiled update: one recording replayed, its dropout re-seeded from the program's run
// count, which the checkpoint carries.
struct CompiledLearner : Learner {
  explicit CompiledLearner(uint64_t init_seed) : Learner(init_seed) {
    Graph g({.mode = ExecMode::kRecord});
    xs = g.Input({kSteps * kBatch, kIn}, std::vector<float>(kSteps * kBatch * kIn, 0.0f));
    ys = g.Input({kSteps * kBatch, 1}, std::vector<float>(kSteps * kBatch, 0.0f));
    State s0{.h = g.Input({kBatch, kHidden}, std::vector<float>(kBatch * kHidden, 0.0f)),
             .c = g.Input({kBatch, kHidden}, std::vector<float>(kBatch * kHidden, 0.0f))};
    State final;
    Rng recording(kDropoutSeed);  // the same seeds in every process
    Expr loss = Loss(g, xs, ys, s0, &final, recording);
    EXPECT_TRUE(Backward(loss).ok());
    program = *Compile(g, {.feeds = {xs, ys, s0.h, s0.c}, .outputs = {loss, final.h, final.c}});
    carried = HostState{.shape = {kBatch, kHidden},
                        .h = std::vector<double>(kBatch * kHidden, 0.0),
                        .c = std::vector<double>(kBatch * kHidden, 0.0)};
  }

  double Update(int u) {
    std::vector<float> x = Chunk(u, kSteps * kBatch * kIn, 1), y = Chunk(u, kSteps * kBatch, 2);
    std::vector<float> h(carried->h.begin(), carried->h.end()),
        c(carried->c.begin(), carried->c.end());
    EXPECT_TRUE(program
                    .Run({Tensor(x.data(), DType::kF32, {kSteps * kBatch, kIn}),
                          Tensor(y.data(), DType::kF32, {kSteps * kBatch, 1}),
                          Tensor(h.data(), DType::kF32, {kBatch, kHidden}),
                          Tensor(c.data(), DType::kF32, {kBatch, kHidden})})
                    .ok());
    ClipGradNorm(store, 1.0);
    EXPECT_TRUE(average.Step().ok());
    store.ZeroGrad();
    for (int part = 1; part <= 2; ++part) {
      std::span<const float> v = program.output(part).span<float>();
      (part == 1 ? carried->h : carried->c).assign(v.begin(), v.end());
    }
    return program.output(0).data<float>()[0];
  }

  Expr xs, ys;
  CompiledGraph program;
};

TEST(ResumeTest, CompiledLstmContinuesItsDropoutStreamsFromTheRunCount) {
  auto uninterrupted = std::make_unique<CompiledLearner>(1);
  std::vector<double> want;
  for (int u = 0; u < kUpdates; ++u) want.push_back(uninterrupted->Update(u));

  const std::string path = ScratchPath("compiled.safetensors");
  std::vector<double> got;
  {
    auto first = std::make_unique<CompiledLearner>(1);
    for (int u = 0; u < kStopAt; ++u) got.push_back(first->Update(u));
    std::vector<float> h, c;
    ASSERT_TRUE(
        Save(path, *first, {{"runs", std::to_string(first->program.run_count())}}, &h, &c).ok());
  }
  // Restored, once with the run count and once without: only the first continues exactly.
  for (bool with_runs : {true, false}) {
    auto resumed = std::make_unique<CompiledLearner>(2);
    absl::StatusOr<LoadedExtras> extras = Restore(path, *resumed);
    ASSERT_TRUE(extras.ok()) << extras.status();
    uint64_t runs = 0;
    ASSERT_TRUE(absl::SimpleAtoi(extras->metadata.at("runs"), &runs));
    EXPECT_EQ(runs, static_cast<uint64_t>(kStopAt));
    if (with_runs) resumed->program.set_run_count(runs);
    std::vector<double> losses = got;
    for (int u = kStopAt; u < kUpdates; ++u) losses.push_back(resumed->Update(u));
    if (with_runs) {
      EXPECT_EQ(losses, want);
      EXPECT_EQ(Bytes(resumed->All()), Bytes(uninterrupted->All()));
    } else {
      EXPECT_NE(losses, want) << "the dropout masks of the first runs came again";
    }
  }
}

}  // namespace
}  // namespace tg
