// Prepared operands (graph/compile/prepare_operands.h): on hand-built programs, which reads get
// a prepared copy (a fixed operand read at least twice in one form), where the copy is made
// (right before its first reader) and what is left alone (an operand some step writes, one read
// once); end to end, with an op of the test's own that counts its preparations, a run prepares
// each copy exactly once, from the operand's bytes of that run.
#include "graph/compile/prepare_operands.h"

#include <atomic>
#include <vector>

#include "graph/compile/compiled_graph.h"
#include "tests/graph/compile/hand_built.h"
#include "graph/graph.h"
#include "graph/op_registry.h"
#include "gtest/gtest.h"
#include "models/unroll.h"
#include "ops/ops.h"

namespace tg::compile {
namespace {

using testing::HandBuilt;
using testing::MatMulFlags;

// Instructions that prepare an operand, by index.
std::vector<int> Preparing(const Program& p) {
  std::vector<int> out;
  for (size_t k = 0; k < p.instructions.size(); ++k) {
    if (p.instructions[k].prepares >= 0) out.push_back(static_cast<int>(k));
  }
  return out;
}

TEST(PrepareOperandsTest, AFixedWeightReadInTwoFormsGetsTwoCopiesBeforeTheirFirstReaders) {
  HandBuilt h;
  // The weight lies in external memory (a parameter); three products read W^T, two read W.
  std::vector<double> weight(6 * 4, 0.5);
  const BufferId w_buffer = h.Buffer(6 * 4 * 8, Storage::kExternal,
                                     reinterpret_cast<std::byte*>(weight.data()));
  const ValueId w = h.At(w_buffer, {6, 4});
  std::vector<ValueId> xs, ys;
  for (int t = 0; t < 3; ++t) {
    xs.push_back(h.Fresh({5, 4}));
    ys.push_back(h.Fresh({5, 6}));
    h.Apply("tanh", {xs[t]}, xs[t]);  // something else first: the copy goes right before
    h.Apply("matmul", {xs[t], w}, ys[t], MatMulFlags(false, true));  // x W^T
  }
  for (int t = 0; t < 2; ++t) {
    h.Apply("matmul", {ys[t], w}, h.Fresh({5, 4}), MatMulFlags(false, false));  // y W
  }
  PrepareStats stats;
  const Program p = PrepareOperands(h.program, &stats);
  EXPECT_EQ(stats.forms, 2);
  EXPECT_EQ(stats.readers, 5);
  ASSERT_EQ(p.instructions.size(), h.program.instructions.size() + 2);
  const std::vector<int> preparing = Preparing(p);
  ASSERT_EQ(preparing.size(), 2u);
  // tanh, prepare W^T, the first x W^T.
  EXPECT_EQ(preparing[0], 1);
  EXPECT_EQ(p.instructions[1].inputs[0], w);
  EXPECT_EQ(p.instructions[1].prepares, 1);
  EXPECT_EQ(p.instructions[1].node, p.instructions[2].node);
  int readers = 0;
  for (const Instruction& in : p.instructions) {
    if (in.prepared < 0) continue;
    ++readers;
    EXPECT_EQ(in.prepared, 1);
    ASSERT_EQ(in.inputs.size(), 3u);
    EXPECT_EQ(in.inputs[1], w);  // the operand stays where it was
    const bool transposed = in.attrs->Int(1) != 0;
    EXPECT_EQ(in.inputs[2], p.instructions[preparing[transposed ? 0 : 1]].output);
  }
  EXPECT_EQ(readers, 5);
  // The copies are planned memory of their own.
  for (int k : preparing) {
    const Value& copy = p.values[p.instructions[k].output];
    EXPECT_EQ(p.buffers[copy.buffer].storage, Storage::kPlanned);
    EXPECT_GT(copy.bytes, 0);
  }
}

TEST(PrepareOperandsTest, AnOperandAStepWritesOrThatIsReadOnceIsLeftAlone) {
  HandBuilt h;
  const ValueId written = h.Fresh({6, 4});  // made by a step of the program
  const ValueId once = h.Fresh({6, 4});  // fixed, but read by one product
  h.Apply("tanh", {h.Fresh({6, 4})}, written);
  for (int t = 0; t < 3; ++t) {
    h.Apply("matmul", {h.Fresh({5, 4}), written}, h.Fresh({5, 6}), MatMulFlags(false, true));
  }
  h.Apply("matmul", {h.Fresh({5, 4}), once}, h.Fresh({5, 6}), MatMulFlags(false, true));
  // A value that overlaps written bytes counts as written too.
  const BufferId shared = h.Buffer(2 * 6 * 4 * 8);
  const ValueId half = h.At(shared, {6, 4}), whole = h.At(shared, {12, 4});
  h.Apply("tanh", {h.Fresh({6, 4})}, half);
  for (int t = 0; t < 2; ++t) {
    h.Apply("matmul", {h.Fresh({5, 4}), whole}, h.Fresh({5, 12}), MatMulFlags(false, true));
  }
  PrepareStats stats;
  const Program p = PrepareOperands(h.program, &stats);
  EXPECT_EQ(stats.forms, 0);
  EXPECT_EQ(p.instructions.size(), h.program.instructions.size());
  EXPECT_TRUE(Preparing(p).empty());
}

// ---- an op of the test's own: y = x * w elementwise, reading w prepared as -w ----
std::atomic<int> preparations{0};

absl::StatusOr<TensorType> ScaleInfer(absl::Span<const TensorType> in, const Attrs&) {
  return in[0];
}
absl::Status ScaleKernel(const KernelContext& ctx) {
  const double* x = ctx.inputs[0].data<double>();
  const double* w = ctx.inputs[1].data<double>();
  const auto* negated = reinterpret_cast<const double*>(ctx.prepared);
  double* y = ctx.output.data<double>();
  for (int64_t i = 0; i < ctx.output.num_elements(); ++i) {
    const double v = x[i] * (negated != nullptr ? -negated[i] : w[i]);
    y[i] = ctx.accumulate ? y[i] + v : v;
  }
  return absl::OkStatus();
}
std::optional<PreparedForm> ScaleForm(const Attrs&, absl::Span<const TensorType> in) {
  return PreparedForm{.operand = 1, .bytes = in[1].shape.num_elements() * 8};
}
absl::Status ScalePrepare(const PrepareContext& ctx) {
  ++preparations;
  for (int64_t i = 0; i < ctx.operand.num_elements(); ++i) {
    ctx.prepared.data<double>()[i] = -ctx.operand.data<double>()[i];
  }
  return absl::OkStatus();
}
const OpDef kPreparedScale = {.name = "test_prepared_scale",
                              .arity = 2,
                              .infer = ScaleInfer,
                              .forward = ScaleKernel,
                              .differentiable = false,
                              .prepare = {.form = ScaleForm, .prepare = ScalePrepare}};

TEST(PrepareOperandsTest, EachRunPreparesEachCopyOnceFromThatRunsWeight) {
  ASSERT_TRUE(RegisterOp(kPreparedScale).ok());
  ParameterStore store;
  absl::StatusOr<Parameter> w = store.Add("w", {1, 4}, Init::Zeros(), DType::kF64);
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE(store.Set("w", std::vector<double>{1, 2, 3, 4}).ok());
  Graph g({.mode = ExecMode::kRecord});
  std::vector<double> xs(5 * 4, 1.0);
  Expr x = g.Input({5, 1, 4}, xs);
  std::vector<Expr> ys;
  for (Expr x_t : SplitSteps(x)) ys.push_back(g.AddNode(kPreparedScale, {x_t, g.Param(*w)}));
  Expr total = Sum(StackSteps(ys));
  absl::StatusOr<CompiledGraph> c = Compile(g, {.feeds = {x}, .outputs = {total}});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->num_prepared(), 1) << c->Listing();
  const Tensor feed(xs.data(), DType::kF64, {5, 1, 4});
  for (int run = 0; run < 3; ++run) {
    SCOPED_TRACE(::testing::Message() << "run " << run);
    // Between runs the weight changes, as an optimizer step changes it.
    const double scale = run + 1.0;
    ASSERT_TRUE(store.Set("w", std::vector<double>{scale, 2 * scale, 3 * scale, 4 * scale}).ok());
    const int before = preparations.load();
    ASSERT_TRUE(c->Run({feed}).ok());
    EXPECT_EQ(preparations.load() - before, 1);
    EXPECT_DOUBLE_EQ(c->output(0).data<double>()[0], 5 * 10 * scale);  // 5 steps of sum(w)
  }
  // Without prepared operands the kernel reads w itself and nothing is prepared.
  absl::StatusOr<CompiledGraph> plain =
      Compile(g, {.feeds = {x}, .outputs = {total}, .prepare_operands = false});
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->num_prepared(), 0);
  const int before = preparations.load();
  ASSERT_TRUE(plain->Run({feed}).ok());
  EXPECT_EQ(preparations.load(), before);
  EXPECT_DOUBLE_EQ(plain->output(0).data<double>()[0], c->output(0).data<double>()[0]);
}

}  // namespace
}  // namespace tg::compile
