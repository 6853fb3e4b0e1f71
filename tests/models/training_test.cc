// Truncated BPTT (gradients stop exactly at chunk boundaries), the masked cross-entropy,
// and two small models that must actually learn in f32 with a fixed seed and step count.
#include <cmath>
#include <numbers>
#include <vector>

#include "autodiff/backward.h"
#include "autodiff/grad_check.h"
#include "fmt/format.h"
#include "gtest/gtest.h"
#include "models/gru_cell.h"
#include "models/layers.h"
#include "models/losses.h"
#include "models/lstm_cell.h"
#include "models/optimizers.h"
#include "models/unroll.h"
#include "ops/ops.h"
#include "testing/test_values.h"

namespace tg {
namespace {

using testing::AllGradients;
using testing::UniformValues;

// ---- truncated BPTT: an f64 LSTM over T = 8 steps in chunks of 4 ----

constexpr int kT = 8, kK = 4, kB = 2, kI = 2, kH = 3;

struct TbpttSetup {
  ParameterStore store{{.seed = 9}};
  LstmCell cell =
      *LstmCell::Create(store, {.input_size = kI, .hidden_size = kH, .dtype = DType::kF64});
  std::vector<double> xs = UniformValues(kT * kB * kI, 10);

  // Steps [begin, end) as one input [(end-begin)*B, I].
  GradCheckInput ChunkInput(int64_t begin, int64_t end) const {
    return {
        .shape = {(end - begin) * kB, kI},
        .values = std::vector<double>(xs.begin() + begin * kB * kI, xs.begin() + end * kB * kI)};
  }
  // Sum over the chunk's steps of <h_t, K>; the final state goes to *out.
  Expr Loss(Graph& g, Expr chunk_xs, const State& s_in, State* out) const {
    int64_t n = chunk_xs.shape()[0] / kB;
    std::vector<Expr> steps;
    for (int64_t t = 0; t < n; ++t) steps.push_back(Slice(chunk_xs, 0, t * kB, (t + 1) * kB));
    UnrollResult r = Unroll(g, cell, steps, s_in);
    Expr k = HostConstant(g, {kB, kH}, UniformValues(kB * kH, 11), DType::kF64);
    Expr loss = Sum(StackSteps(r.outputs) * Concat(std::vector<Expr>(n, k), 0));
    if (out != nullptr) *out = r.final;
    return loss;
  }
  // Runs the helper; records the state fed to each chunk and the gradients after each.
  TbpttResult Run(std::vector<HostState>* fed, std::vector<std::vector<double>>* grads) {
    store.ZeroGrad();
    auto build = [&](Graph& g, const TbpttChunk& c, const std::vector<State>& in) {
      GradCheckInput x = ChunkInput(c.begin, c.end);
      State s0 = in.empty() ? cell.ZeroState(g, kB) : in[0];
      if (!in.empty()) {
        EXPECT_EQ(g.NodePath(in[0].h.id()), "input");  // a leaf: nothing behind it
        fed->push_back(*CopyOut(in[0]));
      }
      TbpttStep step;
      step.state.resize(1);
      step.loss = Loss(g, g.Input(x.shape, x.values), s0, &step.state[0]);
      return step;
    };
    Graph g;
    auto r = TruncatedBptt(g, {.num_steps = kT, .chunk_steps = kK}, build,
                           [&](const TbpttChunk&, double) {
                             grads->push_back(AllGradients(store));  // no ZeroGrad: they add up
                             return absl::OkStatus();
                           });
    EXPECT_TRUE(r.ok()) << r.status();
    return *r;
  }
};

TEST(TbpttTest, ParameterGradientIsTheSumOfPerChunkGradients) {
  TbpttSetup s;
  std::vector<HostState> fed;
  std::vector<std::vector<double>> after;
  TbpttResult r = s.Run(&fed, &after);
  ASSERT_EQ(r.losses.size(), 2u);
  ASSERT_EQ(fed.size(), 1u);
  // Each chunk alone, from the values the helper fed it.
  std::vector<double> sum(after[1].size(), 0.0);
  for (int c = 0; c < 2; ++c) {
    s.store.ZeroGrad();
    Graph g;
    GradCheckInput x = s.ChunkInput(c * kK, (c + 1) * kK);
    State s0 = c == 0 ? s.cell.ZeroState(g, kB) : FeedIn(g, fed[0]);
    ASSERT_TRUE(Backward(s.Loss(g, g.Input(x.shape, x.values), s0, nullptr)).ok());
    std::vector<double> gc = AllGradients(s.store);
    if (c == 0) {
      EXPECT_EQ(gc, after[0]);
    }
    for (size_t i = 0; i < sum.size(); ++i) sum[i] += gc[i];
  }
  double truncated = 0;
  for (size_t i = 0; i < sum.size(); ++i) EXPECT_NEAR(after[1][i], sum[i], 1e-13) << i;
  // Forward values are not truncated: the full unroll ends in the same state and loss.
  s.store.ZeroGrad();
  Graph g;
  State full_final;
  GradCheckInput x = s.ChunkInput(0, kT);
  Expr full = s.Loss(g, g.Input(x.shape, x.values), s.cell.ZeroState(g, kB), &full_final);
  EXPECT_NEAR(*full.Scalar(), r.losses[0] + r.losses[1], 1e-12);
  EXPECT_EQ(*full_final.h.ToVector<double>(), r.final_state[0].h);
  EXPECT_EQ(*full_final.c.ToVector<double>(), r.final_state[0].c);
  // ...but the full gradient differs: truncation removed the cross-boundary terms.
  ASSERT_TRUE(Backward(full).ok());
  std::vector<double> gf = AllGradients(s.store);
  for (size_t i = 0; i < gf.size(); ++i) truncated = std::max(truncated, std::abs(gf[i] - sum[i]));
  EXPECT_GT(truncated, 1e-4);
}

TEST(TbpttTest, NoGradientCrossesAChunkBoundary) {
  TbpttSetup s;
  std::vector<HostState> fed;
  std::vector<std::vector<double>> after;
  s.Run(&fed, &after);
  // The same computation on one graph with the state cut by StopGradient at t = 4.
  for (bool cut : {true, false}) {
    s.store.ZeroGrad();
    Graph g;
    GradCheckInput a = s.ChunkInput(0, kK), b = s.ChunkInput(kK, kT);
    Expr xa = g.Input(a.shape, a.values, {.requires_grad = true});
    Expr xb = g.Input(b.shape, b.values, {.requires_grad = true});
    State mid;
    Expr l1 = s.Loss(g, xa, s.cell.ZeroState(g, kB), &mid);
    if (cut) mid = {.h = StopGradient(mid.h), .c = StopGradient(mid.c)};
    Expr l2 = s.Loss(g, xb, mid, nullptr);
    auto d = Backward(l2, {xa, xb});
    ASSERT_TRUE(d.ok()) << d.status();
    std::vector<double> d_first = *(*d)[0].ToVector<double>();
    double norm_first = 0, norm_second = 0;
    for (double v : d_first) norm_first += std::abs(v);
    std::vector<double> d_second = *(*d)[1].ToVector<double>();
    for (double v : d_second) norm_second += std::abs(v);
    EXPECT_GT(norm_second, 0);
    if (cut) {
      EXPECT_EQ(d_first, std::vector<double>(d_first.size(), 0.0));  // exactly zero
      ASSERT_TRUE(Backward(l1 + l2).ok());
      std::vector<double> gr = AllGradients(s.store);
      for (size_t i = 0; i < gr.size(); ++i) EXPECT_NEAR(gr[i], after[1][i], 1e-13) << i;
    } else {
      EXPECT_GT(norm_first, 1e-3);  // without the cut, chunk 2 does reach chunk 1's inputs
    }
  }
}

TEST(TbpttTest, EachChunkMatchesFiniteDifferences) {
  TbpttSetup s;
  std::vector<HostState> fed;
  std::vector<std::vector<double>> after;
  s.Run(&fed, &after);
  const HostState& in = fed[0];
  GradCheckInput x = s.ChunkInput(kK, kT);
  absl::Status st = CheckGradients(s.store, [&](Graph& g) {
    return s.Loss(g, g.Input(x.shape, x.values), FeedIn(g, in), nullptr);
  });
  EXPECT_TRUE(st.ok()) << st;
  st = CheckGradients(
      [&](Graph& g, absl::Span<const Expr> v) {
        return s.Loss(g, v[0], {.h = v[1], .c = v[2]}, nullptr);
      },
      {x, {.shape = in.shape, .values = in.h}, {.shape = in.shape, .values = in.c}});
  EXPECT_TRUE(st.ok()) << st;
}

TEST(TbpttTest, RejectsEmptyRangesAndReportsGraphErrors) {
  Graph g;
  auto build = [](Graph& g, const TbpttChunk&, const std::vector<State>&) {
    return TbpttStep{.loss = MatMul(g.Fill({2, 3}, 1), g.Fill({2, 3}, 1)), .state = {}};
  };
  EXPECT_EQ(TruncatedBptt(g, {.num_steps = 5, .chunk_steps = 0}, build).status().code(),
            absl::StatusCode::kInvalidArgument);
  auto r = TruncatedBptt(g, {.num_steps = 5, .chunk_steps = 2}, build);
  EXPECT_NE(r.status().message().find("matmul"), std::string::npos) << r.status();
}

// ---- losses ----

TEST(LossTest, MaskedCrossEntropyIsTheWeightedMeanOfRowLosses) {
  Graph g;
  std::vector<double> lv = UniformValues(12, 3);
  Expr logits = g.Input({4, 3}, lv);
  Expr targets = g.Input({4}, std::vector<int32_t>{2, 0, 1, 1});
  Expr ones = g.Fill({4}, 1.0, DType::kF64);
  EXPECT_NEAR(*MaskedSoftmaxCrossEntropy(g, logits, targets, ones).Scalar(),
              *SoftmaxCrossEntropy(logits, targets).Scalar(), 1e-14);
  Expr w = g.Input({4}, std::vector<double>{1, 0, 1, 1});
  Expr kept = Concat({Slice(logits, 0, 0, 1), Slice(logits, 0, 2, 4)}, 0);
  EXPECT_NEAR(*MaskedSoftmaxCrossEntropy(g, logits, targets, w).Scalar(),
              *SoftmaxCrossEntropy(kept, g.Input({3}, std::vector<int32_t>{2, 1, 1})).Scalar(),
              1e-14);
  // Lengths {2, 1} over T = 2 time-major rows weight (t0,b0), (t0,b1), (t1,b0) only.
  Expr by_lengths = MaskedSoftmaxCrossEntropy(g, logits, targets, std::vector<int32_t>{2, 1});
  Expr by_weights =
      MaskedSoftmaxCrossEntropy(g, logits, targets, g.Input({4}, std::vector<double>{1, 1, 1, 0}));
  EXPECT_EQ(*by_lengths.Scalar(), *by_weights.Scalar());
  MaskedSoftmaxCrossEntropy(g, logits, targets, std::vector<int32_t>{1, 1, 1});
  EXPECT_NE(g.status().message().find("not T*B rows"), std::string::npos) << g.status();
}

TEST(LossTest, MaskedCrossEntropyGradientsMatchFiniteDifferences) {
  absl::Status s = CheckGradients(
      [](Graph& g, absl::Span<const Expr> in) {
        return MaskedSoftmaxCrossEntropy(g, in[0], in[1], in[2]);
      },
      {{.shape = {4, 3}, .values = UniformValues(12, 4)},
       {.shape = {4}, .ids = {2, 0, 1, 1}, .is_ids = true},
       {.shape = {4}, .values = {1, 0.5, 0, 2}}});
  EXPECT_TRUE(s.ok()) << s;
}

// ---- training: f32, fixed seeds and step counts, Adam ----

// One optimisation step: Backward, clip, Adam, ZeroGrad; returns the loss before the step.
double TrainStep(Expr loss, ParameterStore& store, Adam& adam) {
  EXPECT_TRUE(Backward(loss).ok());
  ClipGradNorm(store, 1.0);
  EXPECT_TRUE(adam.Step().ok());
  store.ZeroGrad();
  return *loss.Scalar();
}

TEST(TrainingTest, LstmFitsANoisySineForecast) {
  constexpr int kSteps = 24, kBatch = 16, kHidden = 16, kIters = 300;
  Rng rng(1);
  // kBatch series x_t = sin(0.4 t + phase) + noise; predict x_{t+1} from x_0..x_t.
  std::vector<float> series((kSteps + 1) * kBatch);
  for (int b = 0; b < kBatch; ++b) {
    double phase = rng.Uniform(0, 2 * std::numbers::pi);
    for (int t = 0; t <= kSteps; ++t) {
      series[t * kBatch + b] = static_cast<float>(std::sin(0.4 * t + phase) + 0.05 * rng.Normal());
    }
  }
  ParameterStore store({.seed = 2});
  LstmCell lstm = *LstmCell::Create(store, {.input_size = 1, .hidden_size = kHidden});
  Linear head =
      *Linear::Create(store, {.in_features = kHidden, .out_features = 1, .prefix = "head"});
  Adam adam(store, {.learning_rate = 1e-2});
  Graph g;
  absl::Span<const float> all(series);
  double first = 0, last = 0;
  for (int it = 0; it < kIters; ++it) {
    g.Clear();
    std::vector<Expr> xs;
    for (int t = 0; t < kSteps; ++t)
      xs.push_back(g.Input({kBatch, 1}, all.subspan(t * kBatch, kBatch)));
    Expr target = g.Input({kSteps * kBatch, 1}, all.subspan(kBatch, kSteps * kBatch));
    UnrollResult r = Unroll(g, lstm, xs, lstm.ZeroState(g, kBatch));
    last = TrainStep(MseLoss(head(g, StackSteps(r.outputs)), target), store, adam);
    if (it == 0) first = last;
  }
  RecordProperty("losses", fmt::format("{:.5f} -> {:.5f}", first, last));
  EXPECT_LT(last, 0.02) << "first " << first;
  EXPECT_LT(last, first / 10);
}

TEST(TrainingTest, GruLearnsTheNextSymbolOfAPattern) {
  // 0 1 2 3 2 1 0 1 ...: after a 1 or a 2 the next symbol depends on the one before, so
  // the model needs its memory. Step 0 (no history yet) is weighted out of the loss.
  constexpr int kPattern[] = {0, 1, 2, 3, 2, 1};
  constexpr int kSteps = 12, kBatch = 6, kVocab = 4, kIters = 150;
  const std::vector<int32_t> lengths = {12, 10, 8, 12, 9, 11};
  std::vector<int32_t> ids((kSteps + 1) * kBatch);
  for (int t = 0; t <= kSteps; ++t)
    for (int b = 0; b < kBatch; ++b) ids[t * kBatch + b] = kPattern[(t + b) % 6];
  std::vector<double> weights = SequenceWeights(lengths, kSteps);
  for (int b = 0; b < kBatch; ++b) weights[b] = 0;
  ParameterStore store({.seed = 3});
  EmbeddingLayer embed =
      *EmbeddingLayer::Create(store, {.num_embeddings = kVocab, .embedding_dim = 8});
  GruCell gru = *GruCell::Create(store, {.input_size = 8, .hidden_size = 16});
  Linear head =
      *Linear::Create(store, {.in_features = 16, .out_features = kVocab, .prefix = "head"});
  Adam adam(store, {.learning_rate = 2e-2});
  Graph g;
  absl::Span<const int32_t> all(ids);
  double first = 0, last = 0;
  for (int it = 0; it < kIters; ++it) {
    g.Clear();
    std::vector<Expr> xs;
    for (int t = 0; t < kSteps; ++t) {
      xs.push_back(embed(g, g.Input({kBatch}, all.subspan(t * kBatch, kBatch))));
    }
    UnrollResult r = Unroll(g, gru, xs, gru.ZeroState(g, kBatch), {.lengths = lengths});
    Expr loss = MaskedSoftmaxCrossEntropy(g, head(g, StackSteps(r.outputs)),
                                          g.Input({kSteps * kBatch}, all.subspan(kBatch)),
                                          HostConstant(g, {kSteps * kBatch}, weights, DType::kF32));
    last = TrainStep(loss, store, adam);
    if (it == 0) first = last;
  }
  RecordProperty("losses", fmt::format("{:.5f} -> {:.5f}", first, last));
  EXPECT_LT(last, 0.05) << "first " << first;
  EXPECT_LT(last, first / 10);
}

}  // namespace
}  // namespace tg
