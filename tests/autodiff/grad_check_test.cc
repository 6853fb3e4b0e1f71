#include "autodiff/grad_check.h"

#include "autodiff/backward.h"
#include "fmt/format.h"
#include "base/random.h"
#include "graph/vjp_context.h"
#include "gtest/gtest.h"
#include "ops/ops.h"
#include "ops/registry.h"

namespace tg {
namespace {

// mul with its VJP off by 0.1%: the check must catch it inside a recurrence of ops.
//   y = a * b      da = dy * b * 1.001,  db = dy * a * 1.001   (the planted error)
void PlantedMulVjp(VjpContext& ctx) {
  Expr dy = ctx.grad_output();
  if (ctx.needs_grad(0)) ctx.AccumulateGrad(0, Scale(dy * ctx.input(1), 1.001));
  if (ctx.needs_grad(1)) ctx.AccumulateGrad(1, Scale(dy * ctx.input(0), 1.001));
}

const OpDef& PlantedMul() {
  static const OpDef def = [] {
    const OpDef* mul = nullptr;
    for (const OpDef* op : BuiltinOps()) {
      if (op->name == "mul") mul = op;
    }
    OpDef d = *mul;
    d.name = "mul_with_planted_error";
    d.vjp = PlantedMulVjp;
    return d;
  }();
  return def;
}

// A 4-step gated recurrence over ops: h = tanh(x_t W + h U) * sigmoid(h V) (mul is `mul_op`).
Expr Recurrence(Graph& g, absl::Span<const Expr> in, const OpDef* mul_op) {
  Expr w = in[1], u = in[2], v = in[3];
  Expr h = g.Fill({2, 3}, 0.1, DType::kF64);
  for (int t = 0; t < 4; ++t) {
    auto scope = g.Scope(fmt::format("step_{}", t));
    Expr x = Slice(in[0], 0, 2 * t, 2 * t + 2);
    Expr a = Tanh(MatMul(x, w) + MatMul(h, u));
    Expr gate = Sigmoid(MatMul(h, v));
    h = mul_op == nullptr ? a * gate : g.AddNode(*mul_op, {a, gate});
  }
  return Sum(h * h);
}

std::vector<GradCheckInput> RecurrenceInputs() {
  Rng rng(5);
  auto draw = [&](Shape s) {
    GradCheckInput in{.shape = s};
    for (int64_t i = 0; i < s.num_elements(); ++i) in.values.push_back(rng.Uniform(-1, 1));
    return in;
  };
  return {draw({8, 4}), draw({4, 3}), draw({3, 3}), draw({3, 3})};
}

TEST(GradCheckTest, PassesACorrectRecurrenceWithMargin) {
  GradCheckReport report;
  absl::Status s = CheckGradients(
      [](Graph& g, absl::Span<const Expr> in) { return Recurrence(g, in, nullptr); },
      RecurrenceInputs(), {}, &report);
  EXPECT_TRUE(s.ok()) << s;
  ASSERT_FALSE(report.worst.empty());
  // Margin: the worst entry uses under a tenth of its tolerance.
  EXPECT_LT(report.worst[0].abs_error, 0.1 * report.worst[0].tolerance) << report.ToString();
}

TEST(GradCheckTest, CatchesAPointOnePercentErrorInMulsVjp) {
  GradCheckReport report;
  absl::Status s = CheckGradients(
      [](Graph& g, absl::Span<const Expr> in) { return Recurrence(g, in, &PlantedMul()); },
      RecurrenceInputs(), {}, &report);
  EXPECT_EQ(s.code(), absl::StatusCode::kInternal);
  EXPECT_NE(s.message().find("FAIL"), std::string::npos) << s;
}

TEST(GradCheckTest, ChecksAParameterStoreAndRestoresIt) {
  ParameterStore store({.seed = 3});
  Parameter w = *store.Add("w", {3, 2}, Init::GlorotUniform(), DType::kF64);
  Parameter b = *store.Add("b", {2}, Init::Uniform(-0.1, 0.1), DType::kF64);
  std::vector<double> before(w.value().span<double>().begin(), w.value().span<double>().end());
  w.grad().data<double>()[0] = 42;  // the caller's gradient survives the check
  std::vector<double> xv = {0.5, -1, 2, 0.1, 0.3, -0.7};
  absl::Status s = CheckGradients(store, [&](Graph& g) {
    Expr x = g.Input({2, 3}, xv);
    return Sum(Tanh(MatMul(x, g.Param(w)) + g.Param(b)));
  });
  EXPECT_TRUE(s.ok()) << s;
  std::vector<double> after(w.value().span<double>().begin(), w.value().span<double>().end());
  EXPECT_EQ(before, after);
  EXPECT_EQ(w.grad().data<double>()[0], 42);
}

TEST(GradCheckTest, RefusesFloat32Parameters) {
  ParameterStore store;
  Parameter w = *store.Add("w", {2}, Init::Zeros());
  absl::Status s = CheckGradients(store, [&](Graph& g) { return Sum(g.Param(w)); });
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("float64"), std::string::npos);
}

}  // namespace
}  // namespace tg
