// The compiled static unroll against eager mode: the same loss and parameter gradients for
// new feeds, with the per-step work batched over time and memory shared by lifetime.
#include "graph/compile/compiled_graph.h"

#include <algorithm>
#include <cmath>
#include <span>
#include <vector>

#include "autodiff/backward.h"
#include "graph/op_registry.h"
#include "gtest/gtest.h"
#include "ops/ops.h"
#include "ops/registry.h"
#include "testing/test_values.h"

namespace tg {
namespace {

constexpr int64_t kSteps = 6, kBatch = 3, kIn = 4, kHidden = 5;

// An Elman RNN written from ops, as a user would: h_t = tanh(x_t W^T + h_{t-1} U^T + b),
// loss = sum_t mean((h_t v)^2 - y_t).
struct Rnn {
  explicit Rnn(ParameterStore& store) {
    w = *store.Add("w", {kHidden, kIn}, Init::Uniform(-0.5, 0.5), DType::kF64);
    u = *store.Add("u", {kHidden, kHidden}, Init::Uniform(-0.5, 0.5), DType::kF64);
    b = *store.Add("b", {kHidden}, Init::Uniform(-0.1, 0.1), DType::kF64);
    v = *store.Add("v", {kHidden, 1}, Init::Uniform(-0.5, 0.5), DType::kF64);
  }
  // xs [T*B, I], ys [T*B, 1], h0 [B, H].
  Expr Loss(Graph& g, Expr xs, Expr ys, Expr h0) const {
    std::vector<Expr> x = Split(xs, static_cast<int>(kSteps), 0);
    std::vector<Expr> y = Split(ys, static_cast<int>(kSteps), 0);
    Expr h = h0, loss;
    for (int64_t t = 0; t < kSteps; ++t) {
      auto scope = g.Scope("step");
      h = Tanh(MatMul(x[t], g.Param(w), {.transpose_b = true}) +
               MatMul(h, g.Param(u), {.transpose_b = true}) + g.Param(b));
      Expr term = Mean(Square(MatMul(h, g.Param(v)) - y[t]));
      loss = t == 0 ? term : loss + term;
    }
    return loss;
  }
  Parameter w, u, b, v;
};

struct Feeds {
  std::vector<double> xs, ys, h0;
  std::vector<Tensor> AsTensors() {
    return {Tensor(xs.data(), DType::kF64, {kSteps * kBatch, kIn}),
            Tensor(ys.data(), DType::kF64, {kSteps * kBatch, 1}),
            Tensor(h0.data(), DType::kF64, {kBatch, kHidden})};
  }
};

Feeds MakeFeeds(uint64_t seed) {
  return {testing::UniformValues(kSteps * kBatch * kIn, 3 * seed),
          testing::UniformValues(kSteps * kBatch, 3 * seed + 1),
          testing::UniformValues(kBatch * kHidden, 3 * seed + 2)};
}

// Loss and gradients the eager way.
std::pair<double, std::vector<double>> Eager(const Rnn& rnn, ParameterStore& store, Feeds f) {
  store.ZeroGrad();
  Graph g;
  Expr loss = rnn.Loss(g, g.Input({kSteps * kBatch, kIn}, f.xs),
                       g.Input({kSteps * kBatch, 1}, f.ys), g.Input({kBatch, kHidden}, f.h0));
  EXPECT_TRUE(Backward(loss).ok());
  return {*loss.Scalar(), testing::AllGradients(store)};
}

struct Recorded {
  explicit Recorded(ExecMode mode) : graph(GraphOptions{.mode = mode}) {}
  Graph graph;
  Expr xs, ys, h0, loss;
};

std::unique_ptr<Recorded> Record(const Rnn& rnn, ExecMode mode = ExecMode::kRecord) {
  auto r = std::make_unique<Recorded>(mode);
  Graph& g = r->graph;
  Feeds f = MakeFeeds(99);
  r->xs = g.Input({kSteps * kBatch, kIn}, f.xs);
  r->ys = g.Input({kSteps * kBatch, 1}, f.ys);
  r->h0 = g.Input({kBatch, kHidden}, f.h0);
  r->loss = rnn.Loss(g, r->xs, r->ys, r->h0);
  EXPECT_TRUE(Backward(r->loss, {.reuse_buffers = false}).ok());
  return r;
}

void ExpectNear(const std::vector<double>& got, const std::vector<double>& want, double rel) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_NEAR(got[i], want[i], rel * (1 + std::abs(want[i]))) << "element " << i;
  }
}

// Runs `step` on the feeds of `seed` and compares with eager mode on the same feeds.
void ExpectMatchesEager(CompiledGraph& step, const Rnn& rnn, ParameterStore& store,
                        uint64_t seed) {
  auto [want_loss, want_grads] = Eager(rnn, store, MakeFeeds(seed));
  store.ZeroGrad();
  Feeds f = MakeFeeds(seed);
  ASSERT_TRUE(step.Run(f.AsTensors()).ok());
  EXPECT_NEAR(step.output(0).data<double>()[0], want_loss, 1e-12 * std::abs(want_loss));
  ExpectNear(testing::AllGradients(store), want_grads, 1e-12);
}

TEST(CompiledGraphTest, MatchesEagerLossAndGradientsForNewFeeds) {
  ParameterStore store({.seed = 3});
  Rnn rnn(store);
  std::unique_ptr<Recorded> r = Record(rnn);
  absl::StatusOr<CompiledGraph> step =
      Compile(r->graph, {.feeds = {r->xs, r->ys, r->h0}, .outputs = {r->loss}});
  ASSERT_TRUE(step.ok()) << step.status();
  r.reset();  // the compiled program does not need the graph any more
  for (uint64_t seed : {1, 2}) ExpectMatchesEager(*step, rnn, store, seed);
}

TEST(CompiledGraphTest, BatchesPerStepWorkOverTime) {
  ParameterStore store({.seed = 3});
  Rnn rnn(store);
  std::unique_ptr<Recorded> r = Record(rnn);
  // Without prepared operands: their forms are memory no graph value has (the memory
  // comparison below is about values sharing buffers by lifetime).
  CompileSpec spec{.feeds = {r->xs, r->ys, r->h0}, .outputs = {r->loss}, .stack_rows = false,
                   .prepare_operands = false};
  absl::StatusOr<CompiledGraph> plain = Compile(r->graph, spec);
  spec.stack_rows = true;
  spec.prepare_operands = true;
  absl::StatusOr<CompiledGraph> stacked = Compile(r->graph, spec);
  ASSERT_TRUE(plain.ok() && stacked.ok());
  // At least: x_t W^T (forward), dW += dz_t^T x_t and dU += dz_t^T h_{t-1} (sums), dv likewise:
  // four families of T nodes, each now one kernel.
  EXPECT_GE(stacked->num_stacked_nodes(), 4 * kSteps) << stacked->Listing();
  EXPECT_LE(stacked->num_kernels(), plain->num_kernels() - 4 * (kSteps - 1));
  // Memory is shared by lifetime: less than one buffer per value.
  EXPECT_LT(plain->peak_bytes(), r->graph.arena().used_bytes());
  // Gradient buffers whose first contribution covers them are written, not zeroed and summed.
  EXPECT_EQ(stacked->Listing().find(" zero "), std::string::npos) << stacked->Listing();
}

TEST(CompiledGraphTest, FusesRunsOfPointwiseOps) {
  ParameterStore store({.seed = 3});
  Rnn rnn(store);
  std::unique_ptr<Recorded> r = Record(rnn);
  // Without time batching, which would stack each step's loss terms into one pass first.
  CompileSpec spec{.feeds = {r->xs, r->ys, r->h0},
                   .outputs = {r->loss},
                   .stack_rows = false,
                   .fuse_pointwise = false};
  absl::StatusOr<CompiledGraph> plain = Compile(r->graph, spec);
  spec.fuse_pointwise = true;
  absl::StatusOr<CompiledGraph> fused = Compile(r->graph, spec);
  ASSERT_TRUE(plain.ok() && fused.ok());
  // Each step's "h v - y_t, square" and the running loss's "scale, add" run as one pass each.
  EXPECT_LE(fused->num_kernels(), plain->num_kernels() - 2 * kSteps) << fused->Listing();
  EXPECT_NE(fused->Listing().find("fused 2"), std::string::npos) << fused->Listing();
  ExpectMatchesEager(*fused, rnn, store, 4);
}

TEST(CompiledGraphTest, PrunesWorkNoOutputNeeds) {
  Graph g({.mode = ExecMode::kRecord});
  std::vector<double> v = {0.5, -1.0, 2.0};
  Expr x = g.Input({3}, v);
  Expr used = Sum(Tanh(x));
  Expr unused = Exp(Sqrt(Square(x)));  // recorded, but no output reads it
  ASSERT_TRUE(unused.valid());
  CompileSpec spec{.feeds = {x}, .outputs = {used}, .fuse_pointwise = false};
  absl::StatusOr<CompiledGraph> pruned = Compile(g, spec);
  spec.outputs.push_back(unused);
  absl::StatusOr<CompiledGraph> both = Compile(g, spec);
  ASSERT_TRUE(pruned.ok() && both.ok());
  EXPECT_EQ(pruned->num_kernels(), 2) << pruned->Listing();  // tanh, sum
  EXPECT_EQ(both->num_kernels(), 5) << both->Listing();
  ASSERT_TRUE(both->Run({Tensor(v.data(), DType::kF64, {3})}).ok());
  EXPECT_NEAR(both->output(1).data<double>()[1], std::exp(1.0), 1e-15);
}

TEST(CompiledGraphTest, DrawsNewDropoutMasksEveryRunAndTheirGradientsAgree) {
  constexpr double kP = 0.5;
  constexpr int64_t kN = 256;
  ParameterStore store({.seed = 2});
  Parameter x = *store.Add("x", {kN}, Init::Uniform(1, 2), DType::kF64);  // never 0 itself
  Graph g({.mode = ExecMode::kRecord});
  std::vector<double> weights = testing::UniformValues(kN, 8);
  Expr w = g.Input({kN}, weights);
  Expr y = Dropout(g.Param(x), kP, /*seed=*/77);
  ASSERT_TRUE(Backward(Sum(y * w), {.reuse_buffers = false}).ok());
  absl::StatusOr<CompiledGraph> step = Compile(g, {.feeds = {w}, .outputs = {y}});
  ASSERT_TRUE(step.ok()) << step.status();
  std::vector<std::vector<double>> masks;
  for (int run = 0; run < 3; ++run) {
    store.ZeroGrad();
    ASSERT_TRUE(step->Run({Tensor(weights.data(), DType::kF64, {kN})}).ok());
    std::span<const double> out = step->output(0).span<double>();
    std::span<const double> grad = x.grad().span<double>();
    std::vector<double> mask(kN);
    for (int64_t i = 0; i < kN; ++i) {
      mask[i] = out[i] == 0 ? 0 : 1 / (1 - kP);
      // The backward's mask is the forward's: dL/dx = w * mask.
      EXPECT_DOUBLE_EQ(grad[i], weights[i] * mask[i]) << "run " << run << ", element " << i;
      if (out[i] != 0) {
        EXPECT_DOUBLE_EQ(out[i], x.value().span<double>()[i] / (1 - kP));
      }
    }
    const int64_t kept = std::count_if(mask.begin(), mask.end(), [](double m) { return m > 0; });
    EXPECT_GT(kept, kN / 4);
    EXPECT_LT(kept, 3 * kN / 4);
    masks.push_back(std::move(mask));
  }
  // The first run repeats the recorded seed (the eager op's mask), later runs draw anew.
  Graph eager;
  std::vector<double> first = *Dropout(eager.Param(x), kP, 77).ToVector<double>();
  for (int64_t i = 0; i < kN; ++i) EXPECT_EQ(first[i] != 0, masks[0][i] != 0) << i;
  EXPECT_NE(masks[0], masks[1]);
  EXPECT_NE(masks[1], masks[2]);
}

// A program saved after r runs (its run count in a checkpoint) continues in a fresh
// recording of the same graph with the very masks the first program would have drawn.
TEST(CompiledGraphTest, RunCountContinuesTheRandomStreamsInAFreshProgram) {
  constexpr int64_t kN = 64;
  ParameterStore store({.seed = 2});
  Parameter x = *store.Add("x", {kN}, Init::Uniform(1, 2), DType::kF64);
  std::vector<double> ones(kN, 1.0);
  auto record = [&]() {
    Graph g({.mode = ExecMode::kRecord});
    Expr w = g.Input({kN}, ones);
    Expr y = Dropout(g.Param(x), 0.5, /*seed=*/77) * w;
    return Compile(g, {.feeds = {w}, .outputs = {y}});
  };
  auto run = [&](CompiledGraph& p) {
    EXPECT_TRUE(p.Run({Tensor(ones.data(), DType::kF64, {kN})}).ok());
    std::span<const double> out = p.output(0).span<double>();
    return std::vector<double>(out.begin(), out.end());
  };
  absl::StatusOr<CompiledGraph> first = record(), resumed = record();
  ASSERT_TRUE(first.ok() && resumed.ok());
  std::vector<std::vector<double>> outputs;
  for (int r = 0; r < 4; ++r) outputs.push_back(run(*first));
  EXPECT_EQ(first->run_count(), 4u);
  EXPECT_EQ(resumed->run_count(), 0u);
  resumed->set_run_count(2);
  EXPECT_EQ(run(*resumed), outputs[2]);
  EXPECT_EQ(run(*resumed), outputs[3]);
  EXPECT_EQ(resumed->run_count(), 4u);
  EXPECT_NE(outputs[2], outputs[3]);
}

// A dropout node recorded without its seed attribute (Attrs::Int reads it as 0): Run wrote
// the new seed past the end of attrs.ints (fuzz_graph_ops found it), so the masks never
// changed. Now the first run repeats seed 0 and later runs draw anew.
TEST(CompiledGraphTest, ReseedsADropoutNodeRecordedWithoutItsSeed) {
  ASSERT_TRUE(RegisterBuiltinOps().ok());
  absl::StatusOr<const OpDef*> dropout = FindOp("dropout");
  ASSERT_TRUE(dropout.ok()) << dropout.status();
  constexpr int64_t kN = 256;
  std::vector<double> ones(kN, 1.0);
  Graph g({.mode = ExecMode::kRecord});
  Expr x = g.Input({kN}, ones);
  Attrs attrs;
  attrs.scalar = 0.5;  // p; no ints at all
  Expr y = g.AddNode(**dropout, {x}, attrs);
  absl::StatusOr<CompiledGraph> step = Compile(g, {.feeds = {x}, .outputs = {y}});
  ASSERT_TRUE(step.ok()) << step.status();
  std::vector<std::vector<double>> outputs;
  for (int run = 0; run < 2; ++run) {
    ASSERT_TRUE(step->Run({Tensor(ones.data(), DType::kF64, {kN})}).ok());
    std::span<const double> out = step->output(0).span<double>();
    outputs.emplace_back(out.begin(), out.end());
  }
  Graph eager;
  std::vector<double> seed0 = *Dropout(eager.Input({kN}, ones), 0.5, 0).ToVector<double>();
  EXPECT_EQ(outputs[0], seed0);
  EXPECT_NE(outputs[1], outputs[0]);
}

TEST(CompiledGraphTest, CompilesAnEagerGraphWhoseBackwardKeptItsBuffers) {
  ParameterStore store({.seed = 5});
  Rnn rnn(store);
  std::unique_ptr<Recorded> r = Record(rnn, ExecMode::kEager);
  absl::StatusOr<CompiledGraph> step =
      Compile(r->graph, {.feeds = {r->xs, r->ys, r->h0}, .outputs = {r->loss}});
  ASSERT_TRUE(step.ok()) << step.status();
  ExpectMatchesEager(*step, rnn, store, 7);
}

TEST(CompiledGraphTest, RefusesAGraphWhoseBackwardReusedBuffers) {
  ParameterStore store({.seed = 5});
  Rnn rnn(store);
  Graph g;
  Feeds f = MakeFeeds(1);
  Expr xs = g.Input({kSteps * kBatch, kIn}, f.xs);
  Expr loss = rnn.Loss(g, xs, g.Input({kSteps * kBatch, 1}, f.ys),
                       g.Input({kBatch, kHidden}, f.h0));
  ASSERT_TRUE(Backward(loss).ok());
  absl::StatusOr<CompiledGraph> step = Compile(g, {.feeds = {xs}, .outputs = {loss}});
  EXPECT_EQ(step.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(step.status().message().find("reuse_buffers"), std::string::npos);
}

TEST(CompiledGraphTest, RefusesFeedsOfTheWrongShapeOrKind) {
  ParameterStore store({.seed = 5});
  Rnn rnn(store);
  std::unique_ptr<Recorded> r = Record(rnn);
  absl::StatusOr<CompiledGraph> bad_feed = Compile(r->graph, {.feeds = {r->loss}, .outputs = {}});
  EXPECT_EQ(bad_feed.status().code(), absl::StatusCode::kInvalidArgument);
  absl::StatusOr<CompiledGraph> step = Compile(r->graph, {.feeds = {r->xs}, .outputs = {r->loss}});
  ASSERT_TRUE(step.ok());
  std::vector<double> wrong(kSteps * kIn);
  absl::Status s = step->Run({Tensor(wrong.data(), DType::kF64, {kSteps, kIn})});
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("feed 0 is [6,4]"), std::string::npos) << s;
}

// An empty feed may come with no storage at all (an empty std::vector's data() is null); the
// program must run it without offsetting that pointer (UBSan reports it; found by
// fuzz_graph_ops).
TEST(CompiledGraphTest, RunsEmptyFeedsWithoutStorage) {
  for (ExecMode mode : {ExecMode::kEager, ExecMode::kRecord}) {
    Graph g({.mode = mode});
    Expr x = g.Input({0, 4}, std::vector<float>{});
    Expr loss = Sum(Concat({Slice(x, 1, 2, 4), x}, 1));
    absl::StatusOr<CompiledGraph> step = Compile(g, {.feeds = {x}, .outputs = {loss}});
    ASSERT_TRUE(step.ok()) << step.status();
    ASSERT_TRUE(step->Run({Tensor(nullptr, DType::kF32, {0, 4})}).ok());
    EXPECT_EQ(step->output(0).data<float>()[0], 0.0f);
  }
}

}  // namespace
}  // namespace tg
