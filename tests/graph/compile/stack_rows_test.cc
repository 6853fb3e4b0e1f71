// Time batching on hand-built programs: per-step products over the steps of one input become
// one product, sums of weight-gradient products one sum, a chain is left alone, products whose
// results are read at once become one when their readers can move after the last, and the
// pass returns a new program without touching its argument; passes over large rows stay per
// step.
#include "graph/compile/stack_rows.h"

#include "gtest/gtest.h"
#include "tests/graph/compile/hand_built.h"

namespace tg::compile {
namespace {

using testing::HandBuilt;
using testing::MatMulFlags;

constexpr int64_t kT = 5, kB = 2, kI = 3, kH = 4;
const Attrs kNoAttrs;  // (a named one: g++ 12 warns about moving a temporary's empty vector)

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

// A gain's gradient: sum over each step's rows of dy_t * y_t into one [H] gradient, with
// dy_t also summed into the bias gradient. Both sums become one instruction over the stacked
// rows, which share one order of the dy_t.
TEST(StackRowsTest, StacksTheSumsOfRowProductsIntoAGainGradient) {
  HandBuilt h;
  const ValueId dgain = h.Fresh({kH}), dbias = h.Fresh({kH});
  Attrs to_row;
  to_row.shape = {kH};
  for (int64_t t = 0; t < kT; ++t) {
    const ValueId dy = h.Fresh({kB, kH}), y = h.Fresh({kB, kH});
    h.Apply("mul_sum_to", {dy, y}, dgain, to_row, /*accumulate=*/t > 0);
    h.Apply("sum_to", {dy}, dbias, to_row, /*accumulate=*/t > 0);
  }
  h.program.outputs = {dgain, dbias};
  const Program stacked = StackRows(h.program);
  ASSERT_EQ(stacked.instructions.size(), 2u);
  for (const Instruction& in : stacked.instructions) {
    EXPECT_EQ(in.stacked, kT) << in.op->name;
    EXPECT_EQ(stacked.shape(in.inputs[0]), (Shape{kT * kB, kH})) << in.op->name;
    EXPECT_FALSE(in.accumulate);  // the first member wrote: the stacked sum writes too
  }
  // One tie of the dy_t: both read them at the same place.
  const Value& a = stacked.values[stacked.instructions[0].inputs[0]];
  const Value& b = stacked.values[stacked.instructions[1].inputs[0]];
  EXPECT_EQ(a.buffer, b.buffer);
  EXPECT_EQ(a.offset, b.offset);
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

// A backward's shape: a chain makes g_t from the last step back, and each g_t's product with
// the shared w is read at once, added into step t's rows of one gradient by an op that
// declares no rows (slice_grad along axis 0). The products become one after the chain, and
// their readers move after it.
TEST(StackRowsTest, MovesReadersOfProductsPastTheLastProduct) {
  HandBuilt h;
  const ValueId w = h.Fresh({kH, kI});
  const ValueId grad = h.Fresh({kT * kB, kI});
  ValueId g = h.Fresh({kB, kH});
  for (int64_t t = kT - 1; t >= 0; --t) {
    const ValueId next = h.Fresh({kB, kH});
    h.Apply("tanh", {g}, next, kNoAttrs);
    g = next;
    const ValueId d = h.Fresh({kB, kI});
    h.Apply("matmul", {g, w}, d, MatMulFlags(false, false));
    Attrs into_rows;
    into_rows.ints = {0, t * kB};  // axis, first row
    into_rows.shape = Shape{kT * kB, kI};
    h.Apply("slice_grad", {d}, grad, into_rows, /*accumulate=*/true);
  }
  h.program.outputs = {grad};
  const Program stacked = StackRows(h.program);
  int products = 0, product_at = -1, last_tanh = -1, first_reader = -1, readers = 0;
  for (int i = 0; i < static_cast<int>(stacked.instructions.size()); ++i) {
    const std::string_view op = stacked.instructions[i].op->name;
    if (op == "matmul") {
      ++products;
      product_at = i;
      EXPECT_EQ(stacked.instructions[i].stacked, kT);
    }
    if (op == "tanh") last_tanh = i;
    if (op == "slice_grad") {
      ++readers;
      if (first_reader < 0) first_reader = i;
    }
  }
  EXPECT_EQ(products, 1);
  EXPECT_EQ(readers, kT);
  EXPECT_GT(product_at, last_tanh);     // after the whole chain
  EXPECT_GT(first_reader, product_at);  // and every reader after it
}

// When a product's reader feeds the next step of the chain, nothing can move: left alone.
TEST(StackRowsTest, KeepsProductsWhoseReadersFeedTheNextStep) {
  HandBuilt h;
  const ValueId w = h.Fresh({kH, kH});
  ValueId g = h.Fresh({kB, kH});
  for (int64_t t = 0; t < kT; ++t) {
    const ValueId d = h.Fresh({kB, kH});
    h.Apply("matmul", {g, w}, d, MatMulFlags(false, false));
    const ValueId next = h.Fresh({kB, kH});
    h.Apply("tanh", {d}, next, kNoAttrs);
    g = next;
  }
  h.program.outputs = {g};
  StackStats stats;
  const Program out = StackRows(h.program, &stats);
  EXPECT_EQ(out.instructions.size(), static_cast<size_t>(2 * kT));
  EXPECT_EQ(stats.groups, 0);
}

// When what reads the first product leads to the last product's operand, the readers cannot
// move past the last product (it would read its operand before it is made): left alone.
TEST(StackRowsTest, KeepsProductsWhenAReaderLeadsToTheLastOne) {
  HandBuilt h;
  const ValueId w = h.Fresh({kH, kI});
  std::vector<ValueId> x(kT), y(kT);
  for (int64_t t = 0; t + 1 < kT; ++t) x[t] = h.Fresh({kB, kH});
  for (int64_t t = 0; t < kT; ++t) y[t] = h.Fresh({kB, kI});
  h.Apply("matmul", {x[0], w}, y[0], MatMulFlags(false, false));
  const ValueId read = h.Fresh({kB, kI});
  h.Apply("neg", {y[0]}, read, kNoAttrs);
  x[kT - 1] = h.Fresh({kB, kH});
  h.Apply("matmul", {read, h.Fresh({kI, kH})}, x[kT - 1], MatMulFlags(false, false));
  for (int64_t t = 1; t < kT; ++t) {
    h.Apply("matmul", {x[t], w}, y[t], MatMulFlags(false, false));
  }
  h.program.outputs = y;
  const Program out = StackRows(h.program);
  int products = 0;
  for (const Instruction& in : out.instructions) {
    if (in.op->name == "matmul" && in.inputs[1] == w) ++products;
  }
  EXPECT_EQ(products, kT);
}

}  // namespace
}  // namespace tg::compile

namespace tg::compile {
namespace {

// Per-step bias adds y_t = x_t + b and bias-gradient sums db += sum_to(dy_t): passes over
// their operands (ops that declare tiles), each step's rows `batch` x `width`.
struct BiasPasses {
  BiasPasses(int64_t batch, int64_t width) {
    const BufferId xs = h.Buffer(kT * batch * width * 8);
    const ValueId b = h.Fresh({width}), db = h.Fresh({width});
    Attrs to;
    to.shape = Shape{width};
    for (int64_t t = 0; t < kT; ++t) {
      const ValueId x = h.At(xs, {batch, width}, t * batch * width * 8);
      const ValueId y = h.Fresh({batch, width});
      h.Apply("add", {x, b}, y);
      h.Apply("sum_to", {y}, db, to, /*accumulate=*/t > 0);
      outputs.push_back(y);
    }
    outputs.push_back(db);
    h.program.outputs = outputs;
  }
  HandBuilt h;
  std::vector<ValueId> outputs;
};

// Small steps stack, as products do; steps of kLargePassElements or more stay per step in the
// serial program (their rows are in cache there), and still stack for parallel replay.
TEST(StackRowsTest, LeavesPassesOverLargeRowsPerStep) {
  StackStats small_stats;
  const Program small = StackRows(BiasPasses(2, 8).h.program, &small_stats);
  EXPECT_EQ(small.instructions.size(), 2u);
  EXPECT_EQ(small_stats.stacked_nodes, 2 * kT);

  const int64_t width = kLargePassElements / 4;  // 4 rows: kLargePassElements per step
  StackStats large_stats;
  const Program large = StackRows(BiasPasses(4, width).h.program, &large_stats);
  EXPECT_EQ(large.instructions.size(), static_cast<size_t>(2 * kT));
  EXPECT_EQ(large_stats.stacked_nodes, 0);

  StackStats narrower_stats;
  StackRows(BiasPasses(4, width - 1).h.program, &narrower_stats);
  EXPECT_EQ(narrower_stats.stacked_nodes, 2 * kT);

  StackStats parallel_stats;
  const Program parallel = StackRows(BiasPasses(4, width).h.program, &parallel_stats, 1);
  EXPECT_GT(parallel_stats.stacked_nodes, 0);  // the sums (ready at once: one instruction)
}

}  // namespace
}  // namespace tg::compile
