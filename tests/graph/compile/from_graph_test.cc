// The first pass: value i is node i's value; views lie in their input's buffer; memory the
// graph holds is found once by address (parameters external, Backward's gradient buffers
// planned); nothing is allocated -- not here, and not by Compile beyond the plan's memory.
#include "graph/compile/from_graph.h"

#include "autodiff/backward.h"
#include "graph/compile/compiled_graph.h"
#include "graph/view.h"
#include "gtest/gtest.h"
#include "ops/ops.h"

namespace tg::compile {
namespace {

TEST(ProgramFromGraphTest, ValuesAreNodesAndViewsShareTheirInputsBuffer) {
  ParameterStore store({.seed = 1});
  Parameter w = *store.Add("w", {3, 2}, Init::Uniform(-1, 1), DType::kF64);
  Graph g({.mode = ExecMode::kRecord});
  Expr x = g.Input({4, 3}, std::vector<double>(12, 0.5));
  std::vector<Expr> rows = Split(x, 2, 0);  // two views of x
  Expr y = MatMul(rows[1], g.Param(w));
  Expr loss = Sum(Tanh(y));
  const Program p = ProgramFromGraph(g, {x.id()}, {loss.id()});
  ASSERT_EQ(p.values.size(), static_cast<size_t>(g.num_nodes()));
  const Value &vx = p.values[x.id()], &second = p.values[rows[1].id()];
  EXPECT_EQ(second.buffer, vx.buffer);
  EXPECT_EQ(second.offset, vx.offset + 2 * 3 * 8);
  EXPECT_EQ(p.shape(rows[1].id()), (Shape{2, 3}));
  EXPECT_EQ(p.buffers[p.values[g.Param(w).id()].buffer].storage, Storage::kExternal);
  EXPECT_EQ(p.buffers[p.values[y.id()].buffer].storage, Storage::kPlanned);
  EXPECT_NE(p.values[y.id()].buffer, vx.buffer);
  // Instructions: the matmul, tanh and sum (leaves and views run nothing).
  ASSERT_EQ(p.instructions.size(), 3u);
  EXPECT_EQ(p.instructions[0].output, y.id());
  EXPECT_EQ(p.instructions[0].inputs[0], rows[1].id());
  EXPECT_EQ(p.feeds, std::vector<ValueId>{x.id()});
  EXPECT_TRUE(p.constants.empty());  // the only leaf besides the parameter is fed
}

TEST(ProgramFromGraphTest, GradientsSummedIntoShareOneBuffer) {
  ParameterStore store({.seed = 1});
  Graph g({.mode = ExecMode::kRecord});
  Expr x = g.Input({3}, std::vector<double>{1, 2, 3}, {.requires_grad = true});
  Expr loss = Sum(Tanh(x) * Exp(x));  // x's gradient has two contributions
  absl::StatusOr<std::vector<Expr>> grads = Backward(loss, {x}, {.reuse_buffers = false});
  ASSERT_TRUE(grads.ok()) << grads.status();
  const Program p = ProgramFromGraph(g, {x.id()}, {(*grads)[0].id()});
  const Value& dx = p.values[(*grads)[0].id()];
  int writers = 0;
  for (const Instruction& in : p.instructions) {
    if (p.Overlap(in.output, (*grads)[0].id())) {
      ++writers;
      EXPECT_EQ(p.values[in.output].buffer, dx.buffer);
    }
  }
  EXPECT_GE(writers, 2);
}

// Recording needs memory for leaves and Backward's gradient buffers; compiling adds only the
// plan's own allocation, never a buffer per recorded value in the graph's arena.
TEST(ProgramFromGraphTest, CompilingAllocatesNothingInTheGraph) {
  ParameterStore store({.seed = 1});
  Parameter w = *store.Add("w", {8, 8}, Init::Uniform(-1, 1), DType::kF64);
  Graph g({.mode = ExecMode::kRecord});
  Expr x = g.Input({4, 8}, std::vector<double>(32, 0.5));
  Expr h = x;
  for (int t = 0; t < 10; ++t) h = Tanh(MatMul(h, g.Param(w)));
  Expr loss = Sum(h);
  ASSERT_TRUE(Backward(loss, {.reuse_buffers = false}).ok());
  const size_t recorded = g.arena().used_bytes();
  absl::StatusOr<CompiledGraph> c = Compile(g, {.feeds = {x}, .outputs = {loss}});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(g.arena().used_bytes(), recorded);
  // Forward values were never given memory (only Backward's redirected outputs have it).
  for (NodeId id = 0; id <= loss.id(); ++id) {
    if (g.node(id).op->is_leaf || ViewOffset(g, id).has_value()) continue;
    EXPECT_FALSE(g.node(id).value.has_data()) << g.NodeLabel(id);
  }
}

}  // namespace
}  // namespace tg::compile
