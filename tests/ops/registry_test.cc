// Registry-driven tests: every built-in op has sample inputs, its gradient matches float64
// finite differences, and the facts it declares for the compiler hold.
#include <set>
#include <string>

#include "autodiff/backward.h"
#include "gmock/gmock.h"
#include "graph/op_registry.h"
#include "graph/vjp_context.h"
#include "gtest/gtest.h"
#include "ops/ops.h"
#include "ops/registry.h"
#include "testing/op_samples.h"

namespace tg {
namespace {

using testing::CheckOpSample;
using testing::MakeInputs;
using testing::OpSample;
using testing::OpSamples;

std::vector<Expr> Feed(Graph& g, const OpSample& sample, bool f32) {
  std::vector<Expr> xs;
  for (const GradCheckInput& in : MakeInputs(sample, 11)) {
    if (in.is_ids) {
      xs.push_back(g.Input(in.shape, in.ids));
    } else if (f32) {
      std::vector<float> v(in.values.begin(), in.values.end());
      xs.push_back(g.Input(in.shape, v));
    } else {
      xs.push_back(g.Input(in.shape, in.values));
    }
  }
  return xs;
}

// The last node of the graph running `op` (the op under test inside a sample's build).
NodeId FindNode(const Graph& g, std::string_view op) {
  for (NodeId id = g.num_nodes() - 1; id >= 0; --id) {
    if (g.node(id).op->name == op) return id;
  }
  return -1;
}

TEST(OpRegistryTest, EveryBuiltinOpHasSampleInputs) {
  std::set<std::string> sampled;
  for (const OpSample& s : OpSamples()) sampled.insert(s.op);
  for (const OpDef* op : BuiltinOps()) {
    EXPECT_TRUE(sampled.contains(std::string(op->name)))
        << "op '" << op->name << "' has no sample inputs (add them in tests/ops/op_samples.cc)";
  }
  for (const std::string& name : testing::CompositeOpNames()) EXPECT_TRUE(sampled.contains(name));
  EXPECT_GE(sampled.size(), 28u);
}

TEST(OpRegistryTest, BuiltinOpsRegisterOnceByName) {
  ASSERT_TRUE(RegisterBuiltinOps().ok());
  ASSERT_TRUE(RegisterBuiltinOps().ok());  // idempotent
  for (const OpDef* op : BuiltinOps()) {
    absl::StatusOr<const OpDef*> found = FindOp(op->name);
    ASSERT_TRUE(found.ok()) << op->name;
    EXPECT_EQ(*found, op);
  }
  OpDef clash = *BuiltinOps()[0];
  EXPECT_EQ(RegisterOp(clash).code(), absl::StatusCode::kAlreadyExists);
}

// A forgotten VJP is an error at registration, not silently zero gradients.
TEST(OpRegistryTest, OpWithoutVjpIsRefusedUnlessDeclaredNonDifferentiable) {
  OpDef no_vjp = *BuiltinOps()[0];
  no_vjp.name = "test_no_vjp";
  no_vjp.vjp = nullptr;
  absl::Status s = RegisterOp(no_vjp);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.message()), ::testing::HasSubstr("'test_no_vjp' has no vjp"));
  EXPECT_FALSE(FindOp("test_no_vjp").ok());

  static OpDef no_grad = no_vjp;
  no_grad.name = "test_no_grad";
  no_grad.differentiable = false;
  EXPECT_TRUE(RegisterOp(no_grad).ok());
  EXPECT_FALSE(no_grad.Differentiable(0));

  OpDef contradictory = *BuiltinOps()[0];
  contradictory.name = "test_contradictory";
  contradictory.differentiable = false;
  EXPECT_EQ(RegisterOp(contradictory).code(), absl::StatusCode::kInvalidArgument);
}

// A prepared operand needs both the form it takes and the function that makes it.
TEST(OpRegistryTest, HalfAPreparedOperandIsRefused) {
  OpDef half = *BuiltinOps()[0];
  half.name = "test_half_prepared";
  half.prepare.form = [](const Attrs&, absl::Span<const TensorType>) {
    return std::optional<PreparedForm>(PreparedForm{.operand = 0, .bytes = 8});
  };
  absl::Status s = RegisterOp(half);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.message()),
              ::testing::HasSubstr("'test_half_prepared' declares prepare.form without "
                                   "prepare.prepare"));
  EXPECT_FALSE(FindOp("test_half_prepared").ok());
}

TEST(OpRegistryTest, GradientsMatchFiniteDifferencesInFloat64) {
  for (const OpSample& sample : OpSamples()) {
    GradCheckReport report;
    absl::Status s = CheckOpSample(sample, {}, &report);
    EXPECT_TRUE(s.ok()) << sample.op << " (" << sample.variant << "): " << s.message();
  }
}

// Runs node n's tile and its forward kernel on the node's inputs and compares the bits.
template <class T>
void ExpectTileMatchesKernel(const Graph& g, const Node& n, TileFn<T> tile, bool accumulate,
                             int64_t count, const OpSample& sample) {
  std::vector<const T*> ins;
  std::vector<Tensor> inputs;
  for (NodeId in : n.inputs) {
    ins.push_back(g.node(in).value.data<T>());
    inputs.push_back(g.node(in).value);
  }
  std::vector<T> by_tile(count, T(0.5)), by_kernel(count, T(0.5));
  const std::vector<int64_t> strides(ins.size(), 1);
  // A row tile (TileShape::kRow) runs once per row of the last axis; others over everything.
  const Shape& shape = n.type.shape;
  const int64_t width = n.op->pointwise.shape == TileShape::kRow ? shape[shape.rank() - 1] : count;
  for (int64_t begin = 0; begin < count; begin += width) {
    std::vector<const T*> row = ins;
    for (const T*& p : row) p += begin;
    tile(row, strides, by_tile.data() + begin, width, n.attrs, accumulate);
  }
  Tensor out(by_kernel.data(), DTypeOf<T>(), n.type.shape);
  ExecOptions options;
  ASSERT_TRUE(n.op->forward(KernelContext{inputs, out, n.attrs, accumulate, options}).ok());
  for (int64_t i = 0; i < count; ++i) {
    EXPECT_EQ(by_tile[i], by_kernel[i]) << sample.op << " at " << i << " accumulate " << accumulate;
  }
}

TEST(OpRegistryTest, PointwiseTileFunctionsGiveTheKernelsResult) {
  std::set<std::string> checked;
  for (const OpSample& sample : OpSamples()) {
    for (bool f32 : {true, false}) {
      Graph g;
      sample.build(g, Feed(g, sample, f32));
      ASSERT_TRUE(g.status().ok()) << sample.op << ": " << g.status();
      NodeId id = FindNode(g, sample.op);
      if (id < 0 || !g.node(id).op->pointwise) continue;
      const Node& n = g.node(id);
      // Tiles that apply to some applications only (row sums, column slices) are checked by
      // the compiler's tests.
      if (n.op->pointwise.applies != nullptr) continue;
      bool same_shape = true;
      for (NodeId in : n.inputs) same_shape &= g.node(in).type.shape == n.type.shape;
      if (!same_shape) continue;  // tiles are defined on same-shape operands only
      int64_t count = n.type.shape.num_elements();
      // Overwrite and accumulate (onto 0.5): the tile must give the kernel's bits both ways.
      for (bool accumulate : {false, true}) {
        if (f32) {
          ExpectTileMatchesKernel<float>(g, n, n.op->pointwise.f32, accumulate, count, sample);
        } else {
          ExpectTileMatchesKernel<double>(g, n, n.op->pointwise.f64, accumulate, count, sample);
        }
      }
      checked.insert(sample.op);
    }
  }
  EXPECT_GE(checked.size(), 15u);
}

// For every node of the samples whose op declares row facts: run the op on the rows cut in
// two (row-carrying operands split, the others shared) and compare.
TEST(OpRegistryTest, DeclaredRowFactsHoldOnStackedRows) {
  std::set<std::string> checked;
  for (const OpSample& sample : OpSamples()) {
    Graph g;
    sample.build(g, Feed(g, sample, /*f32=*/false));
    ASSERT_TRUE(g.status().ok());
    NodeId last = g.num_nodes();
    for (NodeId id = 0; id < last; ++id) {
      // Copies, not references: adding nodes below may move the node vector.
      const OpDef* op = g.node(id).op;
      const Attrs attrs = g.node(id).attrs;
      const std::vector<NodeId> inputs(g.node(id).inputs.begin(), g.node(id).inputs.end());
      if (op->rows == nullptr) continue;
      std::vector<TensorType> types;
      for (NodeId in : inputs) types.push_back(g.node(in).type);
      RowFacts facts = op->rows(attrs, types);
      if (facts.kind == RowKind::kNone || facts.row_operands == 0) continue;
      int first = __builtin_ctz(facts.row_operands);
      int64_t rows = types[first].shape[0];
      if (rows < 2) continue;
      int64_t cut = rows / 2;
      std::vector<Expr> lo, hi;
      for (size_t i = 0; i < inputs.size(); ++i) {
        Expr x = g.ExprOf(inputs[i]);
        if (facts.row_operands & (1u << i)) {
          lo.push_back(Slice(x, 0, 0, cut));
          hi.push_back(Slice(x, 0, cut, rows));
        } else {
          lo.push_back(x);
          hi.push_back(x);
        }
      }
      Expr a = g.AddNode(*op, lo, attrs);
      Expr b = g.AddNode(*op, hi, attrs);
      Expr full = g.ExprOf(id);
      Expr expect = facts.kind == RowKind::kIndependent ? Concat({a, b}, 0) : Add(a, b);
      ASSERT_TRUE(g.status().ok()) << sample.op << ": " << g.status();
      std::vector<double> want = *full.ToVector<double>(), got = *expect.ToVector<double>();
      ASSERT_EQ(want.size(), got.size()) << op->name;
      for (size_t i = 0; i < want.size(); ++i) {
        EXPECT_NEAR(got[i], want[i], 1e-12 * (1 + std::abs(want[i])))
            << op->name << " in sample " << sample.op << " at " << i;
      }
      checked.insert(std::string(op->name));
    }
  }
  EXPECT_TRUE(checked.contains("matmul"));
  EXPECT_TRUE(checked.contains("tanh"));
  EXPECT_TRUE(checked.contains("add"));
}

// ---- a user's own op, registered from outside tapegrad's tree ----
//   y = x^3        dx = dy * 3 x^2
absl::StatusOr<TensorType> CubeInfer(absl::Span<const TensorType> in, const Attrs&) {
  return in[0];
}
absl::Status CubeKernel(const KernelContext& ctx) {
  const Tensor& x = ctx.inputs[0];
  for (int64_t i = 0; i < x.num_elements(); ++i) {
    double v = x.data<double>()[i];
    double& out = ctx.output.data<double>()[i];
    out = (ctx.accumulate ? out : 0) + v * v * v;
  }
  return absl::OkStatus();
}
void CubeVjp(VjpContext& ctx) {
  Expr x = ctx.input(0);
  ctx.AccumulateGrad(0, Scale(ctx.grad_output() * x * x, 3.0));
}
const OpDef kCube = {.name = "user_cube", .arity = 1, .infer = CubeInfer,
                     .forward = CubeKernel, .vjp = CubeVjp};

TEST(OpRegistryTest, AUsersOpRegistersAndDifferentiates) {
  ASSERT_TRUE(RegisterOp(kCube).ok());
  ASSERT_TRUE(FindOp("user_cube").ok());
  GradCheckInput x{.shape = {5}, .values = {0.3, -1.2, 2.0, 0.7, -0.4}};
  absl::Status s = CheckGradients(
      [](Graph& g, absl::Span<const Expr> in) {
        return Sum(Tanh(g.AddNode(*FindOp("user_cube").value(), {in[0]})));
      },
      {x});
  EXPECT_TRUE(s.ok()) << s;
}

}  // namespace
}  // namespace tg
