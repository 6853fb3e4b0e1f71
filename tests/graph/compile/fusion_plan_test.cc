// The fusion plan and fused runs over rows: a run takes a bias [D] over rows and a statistic
// [B,1] over columns, ends in row sums, reads column slices in place; a value read only
// inside its run has no memory (every other buffer a run touches lives through the whole
// run, so a large run may plan more than its ops did unfused); and a layer norm over
// [64, 2048] (past the old 65,536-element limit) compiles to fused runs whose results match
// the unfused program's, split over two threads or not.
#include "graph/compile/fusion_plan.h"

#include <cmath>
#include <string>
#include <vector>

#include "autodiff/backward.h"
#include "graph/compile/compiled_graph.h"
#include "graph/compile/memory_plan.h"
#include "gtest/gtest.h"
#include "ops/ops.h"
#include "testing/test_values.h"
#include "tests/graph/compile/hand_built.h"

namespace tg::compile {
namespace {

using testing::HandBuilt;

Attrs Ints(std::vector<int64_t> ints) {
  Attrs a;
  a.ints.assign(ints.begin(), ints.end());
  return a;
}

// z = x + bias; i, f = column slices of z; p = sigmoid(i) * f; s = sum(p, -1, keepdims);
// q = p - s: one run over 3 rows, and only q (the output) needs memory.
TEST(FusionPlanTest, BroadcastsRowSumsAndColumnSlicesJoinOneRunAndStayInTheChunkBuffer) {
  HandBuilt h;
  const ValueId x = h.Fresh({3, 8}), bias = h.Fresh({8}), z = h.Fresh({3, 8});
  const ValueId i = h.Fresh({3, 2}), f = h.Fresh({3, 2}), si = h.Fresh({3, 2});
  const ValueId p = h.Fresh({3, 2}), s = h.Fresh({3, 1}), q = h.Fresh({3, 2});
  h.Apply("add", {x, bias}, z);
  h.Apply("slice", {z}, i, Ints({1, 0, 2}));
  h.Apply("slice", {z}, f, Ints({1, 2, 4}));
  h.Apply("sigmoid", {i}, si);
  h.Apply("mul", {si, f}, p);
  h.Apply("sum", {p}, s, Ints({1, 1}));
  h.Apply("sub", {p, s}, q);
  h.program.feeds = {x, bias};
  h.program.outputs = {q};
  const std::vector<Lifetime> unfused = ComputeLifetimes(h.program);
  const FusionPlan plan = PlanFusion(h.program, unfused);
  ASSERT_EQ(plan.runs.size(), 1u);
  EXPECT_EQ(plan.runs[0].begin, 0);
  EXPECT_EQ(plan.runs[0].end, 7);
  EXPECT_FALSE(plan.runs[0].flat);
  for (ValueId v : {z, i, f, si, p, s}) EXPECT_TRUE(plan.internal[v]) << "value " << v;
  for (ValueId v : {x, bias, q}) EXPECT_FALSE(plan.internal[v]) << "value " << v;
  const std::vector<Lifetime> fused = FusedLifetimes(unfused, h.program, plan);
  const Placement placed = PlaceMemory(h.program, fused);
  for (ValueId v : {z, i, f, si, p, s}) {
    EXPECT_EQ(placed.offset[h.program.values[v].buffer], -1) << "value " << v;
  }
  EXPECT_EQ(placed.bytes, 192 + 64 + 64);  // x, bias and q, each a multiple of 64 bytes
}

// A value a step after its run reads keeps its memory, and an op over other rows ends a run.
TEST(FusionPlanTest, KeepsValuesReadOutsideTheRunAndEndsRunsAtOtherRows) {
  HandBuilt h;
  const ValueId x = h.Fresh({4, 8}), a = h.Fresh({4, 8}), b = h.Fresh({4, 8});
  const ValueId e = h.Fresh({4, 8}), r0 = h.Fresh({8}), row = h.Fresh({8});
  const ValueId c = h.Fresh({4, 8}), d = h.Fresh({4, 8});
  h.Apply("tanh", {x}, a);      // 0
  h.Apply("exp", {a}, b);       // 1
  h.Apply("mul", {b, a}, e);    // 2
  h.Apply("tanh", {r0}, row);   // 3: one row of 8, not four
  h.Apply("add", {e, row}, c);  // 4
  h.Apply("mul", {c, a}, d);    // 5: reads a, made in the first run
  h.program.feeds = {x, r0};
  h.program.outputs = {d};
  const FusionPlan plan = PlanFusion(h.program, ComputeLifetimes(h.program));
  ASSERT_EQ(plan.runs.size(), 2u);
  EXPECT_EQ(plan.runs[0].begin, 0);
  EXPECT_EQ(plan.runs[0].end, 3);
  EXPECT_EQ(plan.runs[1].begin, 4);
  EXPECT_EQ(plan.runs[1].end, 6);
  EXPECT_FALSE(plan.internal[a]);  // read by instruction 5
  EXPECT_TRUE(plan.internal[b]);
  EXPECT_FALSE(plan.internal[e]);  // read by the next run
  EXPECT_FALSE(plan.internal[row]);
  EXPECT_TRUE(plan.internal[c]);
}

// A layer norm over [64, 2048] rows and a product of two of its column slices, forward and
// backward, in float32: fused (one thread and two) against unfused.
struct LayerNormProgram {
  static constexpr int64_t kRows = 64, kCols = 2048;
  explicit LayerNormProgram(bool fuse, int threads) : store({.seed = 4}) {
    bias = *store.Add("bias", {kCols}, Init::Uniform(-0.5, 0.5));
    Graph g({.mode = ExecMode::kRecord, .exec = {.num_threads = threads}});
    x = g.Input({kRows, kCols}, std::vector<float>(kRows * kCols, 0.0f));
    Expr z = x + g.Param(bias);
    Expr centred = z - Mean(z, -1, {.keepdims = true});
    Expr norm = centred / Sqrt(Mean(Square(centred), -1, {.keepdims = true}) + 1e-5);
    Expr y = Tanh(Slice(norm, 1, 0, 512)) * Slice(norm, 1, 512, 1024);
    Expr loss = Sum(y * y);
    EXPECT_TRUE(Backward(loss).ok());
    absl::StatusOr<CompiledGraph> c =
        Compile(g, {.feeds = {x}, .outputs = {loss}, .fuse_pointwise = fuse});
    EXPECT_TRUE(c.ok()) << c.status();
    program = *std::move(c);
  }
  // The loss and the bias gradient for one input.
  std::pair<float, std::vector<float>> Run(const std::vector<float>& xs) {
    store.ZeroGrad();
    EXPECT_TRUE(program.Run({Tensor(const_cast<float*>(xs.data()), DType::kF32,
                                    {kRows, kCols})})
                    .ok());
    const Tensor grad = bias.grad();
    return {program.output(0).data<float>()[0],
            std::vector<float>(grad.data<float>(), grad.data<float>() + kCols)};
  }
  ParameterStore store;
  Parameter bias;
  Expr x;
  CompiledGraph program;
};

TEST(FusionPlanTest, LargeLayerNormRunsFusedWithTheUnfusedResults) {
  std::vector<float> xs(LayerNormProgram::kRows * LayerNormProgram::kCols);
  for (size_t i = 0; i < xs.size(); ++i) xs[i] = std::sin(0.37f * static_cast<float>(i));
  LayerNormProgram plain(/*fuse=*/false, 1), fused(/*fuse=*/true, 1), split(/*fuse=*/true, 2);
  const std::string listing = fused.program.Listing();
  EXPECT_NE(listing.find("fused"), std::string::npos) << listing;
  EXPECT_LE(fused.program.num_kernels(), plain.program.num_kernels() / 2) << listing;
  const auto [want_loss, want_grad] = plain.Run(xs);
  const auto [loss, grad] = fused.Run(xs);
  const auto [split_loss, split_grad] = split.Run(xs);
  EXPECT_NEAR(loss, want_loss, 1e-5 * std::abs(want_loss));
  float largest = 0;
  for (float g : want_grad) largest = std::max(largest, std::abs(g));
  for (size_t j = 0; j < grad.size(); ++j) {
    ASSERT_NEAR(grad[j], want_grad[j], 1e-5 * largest) << "bias gradient " << j;
  }
  EXPECT_EQ(split_loss, loss);  // a chunk is the same whichever thread runs it
  EXPECT_EQ(split_grad, grad);
}

}  // namespace
}  // namespace tg::compile
