// Compile time grows linearly with the unrolled length. Wall time is noisy on a shared machine,
// so the passes count their work (ranges visited, dependencies looked at, intervals tied,
// free-list operations): per step, ten times the steps cost at most 1.5 times as much.
#include <vector>

#include "autodiff/backward.h"
#include "graph/compile/compiled_graph.h"
#include "gtest/gtest.h"
#include "models/stack.h"
#include "models/unroll.h"
#include "ops/ops.h"

namespace tg {
namespace {

double WorkPerStep(CellKind kind, int layers, int64_t steps) {
  constexpr int64_t kBatch = 2, kInput = 3, kHidden = 4;
  ParameterStore store({.seed = 3});
  absl::StatusOr<StackedRnn> net = StackedRnn::Create(
      store, {.kind = kind, .input_size = kInput, .hidden_size = kHidden, .num_layers = layers});
  EXPECT_TRUE(net.ok()) << net.status();
  if (!net.ok()) return 0;
  Graph g({.mode = ExecMode::kRecord});
  Expr x = g.Input({steps, kBatch, kInput}, std::vector<float>(steps * kBatch * kInput, 0.25f));
  Expr loss = Mean(Square(StackSteps(net->Run(g, SplitSteps(x)).outputs)));
  EXPECT_TRUE(Backward(loss).ok()) << g.status();
  absl::StatusOr<CompiledGraph> c = Compile(g, {.feeds = {x}, .outputs = {loss}});
  EXPECT_TRUE(c.ok()) << c.status();
  if (!c.ok()) return 0;
  EXPECT_GE(c->num_stacked_nodes(), steps);  // the batching whose work is counted happened
  return static_cast<double>(c->compile_work()) / static_cast<double>(steps);
}

TEST(LinearCompileTest, LstmWorkPerStepAtTenTimesTheStepsIsWithinOneAndAHalfTimes) {
  const double short_run = WorkPerStep(CellKind::kLstm, 1, 40);
  const double long_run = WorkPerStep(CellKind::kLstm, 1, 400);
  EXPECT_GT(short_run, 0);
  EXPECT_LE(long_run, 1.5 * short_run) << short_run << " per step at T=40, " << long_run
                                       << " at T=400";
}

TEST(LinearCompileTest, StackedGruWorkPerStepAtTenTimesTheStepsIsWithinOneAndAHalfTimes) {
  const double short_run = WorkPerStep(CellKind::kGru, 2, 40);
  const double long_run = WorkPerStep(CellKind::kGru, 2, 400);
  EXPECT_GT(short_run, 0);
  EXPECT_LE(long_run, 1.5 * short_run) << short_run << " per step at T=40, " << long_run
                                       << " at T=400";
}

}  // namespace
}  // namespace tg
