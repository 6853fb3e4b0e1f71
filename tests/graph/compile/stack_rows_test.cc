// Time batching on hand-built programs: per-step products over the steps of one input become
// one product, sums of weight-gradient products one sum, a chain is left alone, and the pass
// returns a new program without touching its argument.
#include "graph/compile/stack_rows.h"

#include "gtest/gtest.h"
#include "tests/graph/compile/hand_built.h"

namespace tg::compile {
namespace {

using testing::HandBuilt;
using testing::MatMulFlags;

constexpr int64_t kT = 5, kB = 2, kI = 3, kH = 4;

// y_t = x_t W^T for the steps x_t of one [T*B, I] input, each y_t in a buffer of its own.
struct Projections {
  Projections() {
    const BufferId xs = h.Buffer(kT * kB * kI * 8);
    w = h.Fresh({kH, kI});
    for (int64_t t = 0; t < kT; ++t) {
      x.push_back(h.At(xs, {kB, kI}, t * kB * kI * 8));
      y.push_back(h.Fresh({kB, kH}));
      h.Apply("matmul", {x.back(), w}, y.back(), MatMulFlags(false, true));
    }
    h.program.outputs = y;
  }
  HandBuilt h;
  ValueId w;
  std::vector<ValueId> x, y;
};

TEST(StackRowsTest, StacksIndependentProductsOverOneInputAndTiesTheirOutputs) {
  Projections p;
  StackStats stats;
  const Program stacked = StackRows(p.h.program, &stats);
  ASSERT_EQ(stacked.instructions.size(), 1u);
  const Instruction& in = stacked.instructions[0];
  EXPECT_EQ(in.stacked, kT);
  EXPECT_EQ(stats.stacked_nodes, kT);
  const Value& rows = stacked.values[in.inputs[0]];
  EXPECT_EQ(stacked.shape(in.inputs[0]), (Shape{kT * kB, kI}));
  EXPECT_EQ(rows.offset, 0);
  EXPECT_EQ(in.inputs[1], p.w);  // the shared weight
  // The outputs were tied adjacent: one buffer, step t's rows right after step t-1's.
  const Value& out = stacked.values[in.output];
  EXPECT_EQ(stacked.shape(in.output), (Shape{kT * kB, kH}));
  for (int64_t t = 0; t < kT; ++t) {
    const Value& y = stacked.values[p.y[t]];
    EXPECT_EQ(y.buffer, out.buffer);
    EXPECT_EQ(y.offset, out.offset + t * kB * kH * 8);
  }
  // The argument is as it was.
  EXPECT_EQ(p.h.program.instructions.size(), static_cast<size_t>(kT));
  EXPECT_NE(p.h.program.values[p.y[1]].buffer, p.h.program.values[p.y[0]].buffer);
}

TEST(StackRowsTest, StacksASumOfProductsIntoOneGradient) {
  HandBuilt h;
  const ValueId dw = h.Fresh({kH, kI});
  for (int64_t t = 0; t < kT; ++t) {
    const ValueId dz = h.Fresh({kB, kH}), x = h.Fresh({kB, kI});
    h.Apply("matmul", {dz, x}, dw, MatMulFlags(true, false), /*accumulate=*/t > 0);
  }
  h.program.outputs = {dw};
  const Program stacked = StackRows(h.program);
  ASSERT_EQ(stacked.instructions.size(), 1u);
  const Instruction& in = stacked.instructions[0];
  EXPECT_EQ(in.stacked, kT);
  EXPECT_EQ(stacked.shape(in.inputs[0]), (Shape{kT * kB, kH}));
  EXPECT_EQ(stacked.shape(in.inputs[1]), (Shape{kT * kB, kI}));
  EXPECT_EQ(in.output, dw);
  EXPECT_FALSE(in.accumulate);  // the first member wrote: the stacked sum writes too
}

TEST(StackRowsTest, LeavesAChainAlone) {
  HandBuilt h;
  const ValueId u = h.Fresh({kH, kH});
  ValueId state = h.Fresh({kB, kH});
  std::vector<ValueId> outputs;
  for (int64_t t = 0; t < kT; ++t) {
    const ValueId next = h.Fresh({kB, kH});
    h.Apply("matmul", {state, u}, next, MatMulFlags(false, true));  // h_t = h_{t-1} U^T
    state = next;
    outputs.push_back(next);
  }
  h.program.outputs = outputs;
  StackStats stats;
  const Program out = StackRows(h.program, &stats);
  EXPECT_EQ(out.instructions.size(), static_cast<size_t>(kT));
  EXPECT_EQ(stats.groups, 0);
}

// Rows without an order in memory are stacked in the order of their values' ids, wherever
// their buffers happen to be.
TEST(StackRowsTest, OrdersRowsWithoutAPlaceByValueIds) {
  HandBuilt h;
  const ValueId w = h.Fresh({kH, kI});
  std::vector<ValueId> x(kT), y(kT);
  for (int64_t t = 0; t < kT; ++t) x[t] = h.Fresh({kB, kI});
  for (int64_t t = 0; t < kT; ++t) y[t] = h.Fresh({kB, kH});
  for (int64_t t = kT - 1; t >= 0; --t) {  // recorded from the last step back
    h.Apply("matmul", {x[t], w}, y[t], MatMulFlags(false, true));
  }
  h.program.outputs = y;
  const Program stacked = StackRows(h.program);
  ASSERT_EQ(stacked.instructions.size(), 1u);
  for (int64_t t = 1; t < kT; ++t) {
    EXPECT_EQ(stacked.values[x[t]].offset, stacked.values[x[t - 1]].offset + kB * kI * 8);
    EXPECT_EQ(stacked.values[y[t]].offset, stacked.values[y[t - 1]].offset + kB * kH * 8);
  }
}

}  // namespace
}  // namespace tg::compile
