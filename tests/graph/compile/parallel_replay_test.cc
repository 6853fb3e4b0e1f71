// Parallel replay: a program whose steps run at once on the threads, wherever its schedule
// lets them, gives the bits of the same program run step by step (RunContext::set_parallel):
// forward outputs and every gradient, over several runs with new feeds, for a stacked LSTM, a
// bidirectional layer and a stacked GRU at 2 and 4 threads. The schedule of a stacked LSTM
// lets layer 1 at step t-1 be ready with layer 0 at step t, and the k-th steps of the two
// directions of a bidirectional layer be ready together (read from the schedule, not from
// timing).
// ParallelReplay itself runs every step once, after its predecessors, and stops at an error.
#include "graph/compile/parallel_replay.h"

#include <atomic>
#include <cstring>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "autodiff/backward.h"
#include "graph/compile/compiled_graph.h"
#include "graph/compile/schedule.h"
#include "gtest/gtest.h"
#include "models/stack.h"
#include "models/unroll.h"
#include "ops/ops.h"
#include "testing/test_values.h"

namespace tg {
namespace {

// Large enough that the recurrent products and the fused runs split over the threads.
constexpr int64_t kSteps = 6, kBatch = 32, kInput = 32, kHidden = 128;
const Shape kXShape{kSteps, kBatch, kInput};

struct Model {
  CellKind kind = CellKind::kLstm;
  int layers = 1;
  bool bidirectional = false;
};

// One recorded update (loss: the mean square of the outputs), compiled with private
// gradients so that each context keeps its own; and compiled again without parallel replay.
struct Compiled {
  Compiled(const Model& m, int threads) : store({.seed = 5}) {
    absl::StatusOr<StackedRnn> rnn =
        StackedRnn::Create(store, {.kind = m.kind, .input_size = kInput, .hidden_size = kHidden,
                                   .num_layers = m.layers, .bidirectional = m.bidirectional});
    EXPECT_TRUE(rnn.ok()) << rnn.status();
    Graph g({.mode = ExecMode::kRecord, .exec = {.num_threads = threads}});
    Expr x = g.Input(kXShape, std::vector<float>(kXShape.num_elements(), 0.0f));
    Expr out = StackSteps(rnn->Run(g, SplitSteps(x)).outputs);
    Expr loss = Mean(Square(out));
    EXPECT_TRUE(Backward(loss).ok()) << g.status();
    for (bool parallel : {false, true}) {
      absl::StatusOr<CompiledGraph> c = Compile(g, {.feeds = {x},
                                                    .outputs = {loss, out},
                                                    .private_gradients = true,
                                                    .parallel_replay = parallel});
      EXPECT_TRUE(c.ok()) << c.status();
      if (c.ok()) (parallel ? program : serial) = *std::move(c);
    }
  }
  ParameterStore store;
  CompiledGraph program, serial;
};

// The outputs and every private gradient of the context's last run, as bytes.
std::vector<unsigned char> Result(const RunContext& c) {
  std::vector<unsigned char> bytes;
  auto append = [&](const Tensor& t) {
    const auto* p = static_cast<const unsigned char*>(t.raw());
    bytes.insert(bytes.end(), p, p + t.num_bytes());
  };
  for (int i = 0; i < c.num_outputs(); ++i) append(c.output(i));
  for (const PrivateGradient& g : c.private_gradients()) append(g.grad);
  return bytes;
}

void ExpectBitwiseEqual(const Model& m, int threads) {
  Compiled c(m, threads);
  EXPECT_EQ(c.serial.program().schedule, nullptr);  // CompileSpec::parallel_replay off
  ASSERT_NE(c.program.program().schedule, nullptr);
  EXPECT_EQ(c.program.program().schedule->num_steps(),
            static_cast<int>(c.program.program().steps.size()));
  absl::StatusOr<RunContext> at_once = c.program.NewContext(),
                             in_order = c.program.NewContext();
  ASSERT_TRUE(at_once.ok() && in_order.ok());
  in_order->set_parallel(false);
  ASSERT_FALSE(at_once->private_gradients().empty());
  for (uint64_t run = 0; run < 4; ++run) {
    std::vector<float> xs(static_cast<size_t>(kXShape.num_elements()));
    const std::vector<double> values = testing::UniformValues(kXShape.num_elements(), run + 1);
    for (size_t i = 0; i < xs.size(); ++i) xs[i] = static_cast<float>(values[i]);
    const std::vector<Tensor> feeds = {Tensor(xs.data(), DType::kF32, kXShape)};
    ASSERT_TRUE(c.program.Run(*in_order, feeds).ok());
    ASSERT_TRUE(c.program.Run(*at_once, feeds).ok());
    const std::vector<unsigned char> want = Result(*in_order);
    EXPECT_TRUE(want == Result(*at_once)) << threads << " threads, run " << run;
  }
}

TEST(ParallelReplayTest, StackedLstmBitwiseEqualsStepByStep) {
  for (int threads : {2, 4}) ExpectBitwiseEqual({.kind = CellKind::kLstm, .layers = 2}, threads);
}

TEST(ParallelReplayTest, BidirectionalLstmBitwiseEqualsStepByStep) {
  for (int threads : {2, 4}) {
    ExpectBitwiseEqual({.kind = CellKind::kLstm, .bidirectional = true}, threads);
  }
}

TEST(ParallelReplayTest, StackedGruBitwiseEqualsStepByStep) {
  for (int threads : {2, 4}) ExpectBitwiseEqual({.kind = CellKind::kGru, .layers = 2}, threads);
}

// The steps whose node path starts with `prefix` and that belong to the forward pass.
std::vector<int> ForwardSteps(const compile::Executable& p, const std::string& prefix) {
  std::vector<int> steps;
  for (size_t k = 0; k < p.paths.size(); ++k) {
    if (absl::StartsWith(p.paths[k], prefix) && !absl::StrContains(p.paths[k], "backward")) {
      steps.push_back(static_cast<int>(k));
    }
  }
  return steps;
}

// A chain of steps from `from` to `to` in the schedule, as node paths (empty if none).
std::string Chain(const compile::Executable& p, int from, int to) {
  std::vector<int> parent(p.steps.size(), -1);
  std::vector<int> stack = {from};
  parent[from] = from;
  while (!stack.empty()) {
    const int k = stack.back();
    stack.pop_back();
    for (int32_t j : p.schedule->after(k)) {
      if (parent[j] >= 0) continue;
      parent[j] = k;
      stack.push_back(j);
    }
  }
  if (parent[to] < 0) return "";
  std::string chain = absl::StrCat(to, " ", p.paths[to]);
  for (int k = to; k != from; k = parent[k]) {
    chain = absl::StrCat(parent[k], " ", p.paths[parent[k]], " -> ", chain);
  }
  return chain;
}

// The first forward steps of time steps `a` and `b` (their recurrent products) wait for
// each other neither directly nor through other steps: the two can be ready at once.
void ExpectReadyTogether(const compile::Executable& p, const std::string& a,
                         const std::string& b) {
  const std::vector<int> as = ForwardSteps(p, a), bs = ForwardSteps(p, b);
  ASSERT_FALSE(as.empty()) << a;
  ASSERT_FALSE(bs.empty()) << b;
  const int i = as.front(), j = bs.front();
  EXPECT_FALSE(p.schedule->Reaches(i, j) || p.schedule->Reaches(j, i))
      << Chain(p, i, j) << Chain(p, j, i);
}

TEST(ParallelReplayTest, LayerOneAtStepTMinusOneRunsBesideLayerZeroAtStepT) {
  Compiled c({.kind = CellKind::kLstm, .layers = 2}, 2);
  const compile::Executable& p = c.program.program();
  ASSERT_NE(p.schedule, nullptr);
  for (int t = 1; t < kSteps; ++t) {
    ExpectReadyTogether(p, absl::StrCat("l0/step_", t, "/"),
                        absl::StrCat("l1/step_", t - 1, "/"));
  }
}

TEST(ParallelReplayTest, BothDirectionsOfABidirectionalLayerRunSideBySide) {
  Compiled c({.kind = CellKind::kLstm, .bidirectional = true}, 2);
  const compile::Executable& p = c.program.program();
  ASSERT_NE(p.schedule, nullptr);
  // The k-th step of each direction: forward over t = k, reverse over t = T-1-k.
  for (int k = 0; k < kSteps; ++k) {
    ExpectReadyTogether(p, absl::StrCat("l0/forward/step_", k, "/"),
                        absl::StrCat("l0/reverse/step_", kSteps - 1 - k, "/"));
  }
}

// A schedule by hand: 0 -> {1, 2} -> 3, and 4 alone.
compile::Schedule Diamond() {
  compile::Schedule s;
  s.predecessors = {0, 1, 1, 2, 0};
  s.successor_begin = {0, 2, 3, 4, 4, 4};
  s.successors = {1, 2, 3, 3};
  s.chain = {3, 2, 2, 1, 1};
  return s;
}

TEST(ParallelReplayTest, EveryStepRunsOnceAfterItsPredecessors) {
  const compile::Schedule s = Diamond();
  for (int threads : {1, 2, 4}) {
    compile::ParallelReplay replay(s, threads);
    for (int round = 0; round < 20; ++round) {
      std::atomic<int> clock{0};
      std::vector<std::atomic<int>> at(5);
      std::vector<std::atomic<int>> runs(5);
      std::atomic<bool> bad_worker{false};
      const absl::Status status = replay.Run([&](int k, int worker) {
        if (worker < 0 || worker >= threads) bad_worker = true;
        runs[k].fetch_add(1);
        at[k] = clock.fetch_add(1);
        return absl::OkStatus();
      });
      ASSERT_TRUE(status.ok()) << status;
      EXPECT_FALSE(bad_worker);
      for (int k = 0; k < 5; ++k) EXPECT_EQ(runs[k].load(), 1) << k;
      EXPECT_LT(at[0], at[1]);
      EXPECT_LT(at[0], at[2]);
      EXPECT_LT(at[1], at[3]);
      EXPECT_LT(at[2], at[3]);
    }
  }
}

TEST(ParallelReplayTest, AnErrorStopsTheStepsThatWaitForIt) {
  const compile::Schedule s = Diamond();
  for (int threads : {1, 2, 4}) {
    compile::ParallelReplay replay(s, threads);
    std::vector<std::atomic<int>> runs(5);
    const absl::Status status = replay.Run([&](int k, int) {
      runs[k].fetch_add(1);
      return k == 1 ? absl::InternalError("step 1 failed") : absl::OkStatus();
    });
    EXPECT_EQ(status.code(), absl::StatusCode::kInternal);
    EXPECT_EQ(status.message(), "step 1 failed");
    EXPECT_EQ(runs[3].load(), 0);  // waits for the failed step
    // The context runs again afterwards, from the start.
    for (std::atomic<int>& r : runs) r = 0;
    ASSERT_TRUE(replay.Run([&](int k, int) {
                  runs[k].fetch_add(1);
                  return absl::OkStatus();
                }).ok());
    for (int k = 0; k < 5; ++k) EXPECT_EQ(runs[k].load(), 1) << k;
  }
}

}  // namespace
}  // namespace tg
