// Row tiles (TileShape::kRow): an op that maps each row to a row (normalize, its gradient,
// softmax) joins a fused run over rows, its value may live in the chunk buffer, and its tile
// runs once per row of every chunk -- never over several rows at once, never on a broadcast
// operand, never on rows of one element -- with the bits of its kernel.
#include <cmath>
#include <vector>

#include "base/thread_pool.h"
#include "graph/compile/fuse_pointwise.h"
#include "graph/compile/fusion_plan.h"
#include "gtest/gtest.h"
#include "tests/graph/compile/fixed_steps.h"
#include "tests/graph/compile/hand_built.h"

namespace tg::compile {
namespace {

using testing::HandBuilt;
using testing::Op;

Attrs Eps(double eps) {
  Attrs a;
  a.scalar = eps;
  return a;
}

// z = x + bias; y = normalize(z); a = y * gain + beta; p = softmax(a); q = tanh(p): one run
// over 5 rows of 6, and only q (the output) needs memory.
TEST(RowTilesTest, RowOpsJoinARunOverRowsAndTheirValuesStayInTheChunkBuffer) {
  HandBuilt h;
  const ValueId x = h.Fresh({5, 6}), bias = h.Fresh({6}), gain = h.Fresh({6});
  const ValueId beta = h.Fresh({6}), z = h.Fresh({5, 6}), y = h.Fresh({5, 6});
  const ValueId a = h.Fresh({5, 6}), p = h.Fresh({5, 6}), q = h.Fresh({5, 6});
  h.Apply("add", {x, bias}, z);
  h.Apply("normalize", {z}, y, Eps(1e-5));
  h.Apply("mul_add", {y, gain, beta}, a);
  h.Apply("softmax", {a}, p);
  h.Apply("tanh", {p}, q);
  h.program.feeds = {x, bias, gain, beta};
  h.program.outputs = {q};
  const FusionPlan plan = PlanFusion(h.program, ComputeLifetimes(h.program));
  ASSERT_EQ(plan.runs.size(), 1u);
  EXPECT_EQ(plan.runs[0].begin, 0);
  EXPECT_EQ(plan.runs[0].end, 5);
  EXPECT_FALSE(plan.runs[0].flat);  // rows of 6, not rows of one element
  for (ValueId v : {z, y, a, p}) EXPECT_TRUE(plan.internal[v]) << "value " << v;
  for (ValueId v : {x, bias, q}) EXPECT_FALSE(plan.internal[v]) << "value " << v;

  const std::optional<MemberGeometry> g =
      RowGeometry(FusionOpOf(h.program, h.program.instructions[1]));
  ASSERT_TRUE(g.has_value());
  EXPECT_EQ(g->shape, TileShape::kRow);
  EXPECT_EQ(g->rows, 5);
  EXPECT_EQ(g->width, 6);
  EXPECT_FALSE(FlatGeometry(FusionOpOf(h.program, h.program.instructions[1])).has_value());
}

// A row tile reads whole rows of its operands: one that would broadcast (a row [D] read by
// every row) is refused even when the op declares broadcasts; and same-shape elementwise ops,
// which could walk rows of one element, walk the row op's rows once it joins their run.
TEST(RowTilesTest, RowOpsTakeNoBroadcastOperandAndKeepTheirRunOnWholeRows) {
  OpDef broadcasting = *Op("normalize_grad");  // as a user's op might (wrongly) declare
  broadcasting.pointwise.broadcasts = true;
  FusionOp f;
  const Attrs eps = Eps(1e-5);
  f.op = &broadcasting;
  f.attrs = &eps;
  f.inputs = {{DType::kF64, {5, 6}}, {DType::kF64, {6}}};
  f.output = {DType::kF64, {5, 6}};
  EXPECT_FALSE(RowGeometry(f).has_value());
  f.inputs[1] = {DType::kF64, {5, 6}};
  EXPECT_TRUE(RowGeometry(f).has_value());

  // tanh, exp over [4,3] could walk 12 rows of one element; normalize needs rows of 3.
  HandBuilt h;
  const ValueId x = h.Fresh({4, 3}), t = h.Fresh({4, 3}), e = h.Fresh({4, 3});
  const ValueId n = h.Fresh({4, 3}), m = h.Fresh({4, 3});
  h.Apply("tanh", {x}, t);
  h.Apply("exp", {t}, e);
  h.Apply("normalize", {e}, n, Eps(0));
  h.Apply("mul", {n, t}, m);
  h.program.feeds = {x};
  h.program.outputs = {m};
  const FusionPlan plan = PlanFusion(h.program, ComputeLifetimes(h.program));
  ASSERT_EQ(plan.runs.size(), 1u);
  EXPECT_FALSE(plan.runs[0].flat);  // all four over rows of 3
  EXPECT_EQ(plan.runs[0].end - plan.runs[0].begin, 4);
}

using testing::Apply;
using testing::Fixed;
using testing::Shapes;

const Attrs kEps = Eps(1e-3);

// tanh -> normalize -> mul over [rows, 96] f32: chunks of 5 rows, so a chunk holds several
// rows, and the normalize tile must run on each row of it alone. Fused (one thread or two)
// gives the unfused kernels' bits; the tiles called are one per chunk for each elementwise
// member and one per row for the row member.
void CheckFusedRowOp(int64_t rows, int threads) {
  constexpr int64_t kCols = 96;
  const int64_t n = rows * kCols;
  std::vector<float> x(n), t(n), y(n), p(n), t_plain(n), y_plain(n), p_plain(n);
  for (int64_t i = 0; i < n; ++i) x[i] = std::sin(0.37f * static_cast<float>(i));
  auto tensor = [&](std::vector<float>& v) { return Tensor(v.data(), DType::kF32, {rows, kCols}); };
  const OpDef *tanh = Op("tanh"), *normalize = Op("normalize"), *mul = Op("mul");
  std::vector<Step> steps = {Apply(tanh, {tensor(x)}, tensor(t)),
                             Apply(normalize, {tensor(t)}, tensor(y)),
                             Apply(mul, {tensor(y), tensor(x)}, tensor(p))};
  std::vector<Step> fused =
      FusePointwise(steps, Shapes().shapes(), absl::MakeConstSpan(&kEps, 1));
  ASSERT_EQ(fused.size(), 1u);
  ASSERT_EQ(fused[0].fused.size(), 3u);
  const FusedRun& run = *fused[0].run;
  EXPECT_EQ(run.chunk_rows, 2048 / (kCols * 4));
  const int64_t chunks = (rows + run.chunk_rows - 1) / run.chunk_rows;
  EXPECT_EQ(TileCalls(run), 2 * chunks + rows);
  const int64_t pool_calls = ThreadPool::Shared().calls();
  RunFused(fused[0], Fixed(), &kEps, threads);
  if (threads > 1 && run.work >= kParallelFusedWork) {
    EXPECT_GT(ThreadPool::Shared().calls(), pool_calls);  // split over the pool
  }
  const ExecOptions options;
  auto run_kernel = [&](const OpDef* op, std::vector<Tensor> in, Tensor out) {
    ASSERT_TRUE(op->forward(KernelContext{in, out, kEps, false, options}).ok());
  };
  run_kernel(tanh, {tensor(x)}, tensor(t_plain));
  run_kernel(normalize, {tensor(t_plain)}, tensor(y_plain));
  run_kernel(mul, {tensor(y_plain), tensor(x)}, tensor(p_plain));
  EXPECT_EQ(t, t_plain);
  EXPECT_EQ(y, y_plain);
  EXPECT_EQ(p, p_plain);
}

TEST(RowTilesTest, ARowTileRunsOncePerRowOfEachChunkWithTheKernelsBits) {
  CheckFusedRowOp(/*rows=*/37, /*threads=*/1);
}

TEST(RowTilesTest, ARunWithRowTilesSplitOverThreadsKeepsTheBits) {
  static_assert(200 * 96 * 3 >= kParallelFusedWork);
  CheckFusedRowOp(/*rows=*/200, /*threads=*/2);
}

}  // namespace
}  // namespace tg::compile
