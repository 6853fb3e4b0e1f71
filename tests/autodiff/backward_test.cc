#include "autodiff/backward.h"

#include <cmath>

#include "autodiff/grad_check.h"
#include "fmt/format.h"
#include "gtest/gtest.h"
#include "models/lstm_cell.h"
#include "models/unroll.h"
#include "ops/ops.h"
#include "tests/expr_values.h"

namespace tg {
namespace {

using testing::Read;

TEST(BackwardTest, TanhGradientMatchesClosedForm) {
  Graph g;
  std::vector<double> xv = {-1.5, 0.0, 0.3, 2.0};
  Expr x = g.Input({4}, xv, {.requires_grad = true});
  auto grads = Backward(Sum(Tanh(x)), {x});
  ASSERT_TRUE(grads.ok()) << grads.status();
  std::vector<double> dx = Read<double>((*grads)[0]);
  for (size_t i = 0; i < xv.size(); ++i) {
    double t = std::tanh(xv[i]);
    EXPECT_NEAR(dx[i], 1 - t * t, 1e-15);
  }
}

TEST(BackwardTest, FanOutSumsAndBroadcastsReduce) {
  Graph g;
  std::vector<double> av = {1, 2, 3, 4, 5, 6}, bv = {0.5, -1, 2};
  Expr a = g.Input({2, 3}, av, {.requires_grad = true});
  Expr b = g.Input({3}, bv, {.requires_grad = true});
  // loss = sum(a*b + a): da = b + 1 (per row), db = column sums of a.
  auto grads = Backward(Sum(a * b + a), {a, b});
  ASSERT_TRUE(grads.ok()) << grads.status();
  EXPECT_EQ(Read<double>((*grads)[0]), (std::vector<double>{1.5, 0, 3, 1.5, 0, 3}));
  EXPECT_EQ(Read<double>((*grads)[1]), (std::vector<double>{5, 7, 9}));
}

TEST(BackwardTest, ParameterGradientsAccumulateUntilZeroGrad) {
  ParameterStore store({.seed = 1});
  Parameter w = *store.Add("w", {2, 2}, Init::Constant(0.5), DType::kF64);
  Parameter frozen = *store.Add("frozen", {2}, Init::Constant(1.0), DType::kF64);
  frozen.set_frozen(true);
  Graph g;
  std::vector<double> xv = {1, 2};
  auto loss = [&] {
    Expr x = g.Input({1, 2}, xv);
    return Sum(MatMul(x, g.Param(w)) * g.Param(frozen));
  };
  ASSERT_TRUE(Backward(loss()).ok());
  g.Clear();
  ASSERT_TRUE(Backward(loss()).ok());
  // d/dW sum(x W * f) = x^T f, twice.
  std::span<double> dw = w.grad().span<double>();
  EXPECT_EQ(std::vector<double>(dw.begin(), dw.end()), (std::vector<double>{2, 2, 4, 4}));
  for (double v : frozen.grad().span<double>()) EXPECT_EQ(v, 0);
  store.ZeroGrad();
  for (double v : w.grad().span<double>()) EXPECT_EQ(v, 0);
}

// Cutting [T,B,I] into T steps: each step is a view, and its gradient lands in one buffer.
TEST(BackwardTest, SplitStepsAreViewsAndTheirGradientsShareOneBuffer) {
  Graph g;
  const int T = 6, B = 2, I = 3;
  std::vector<double> xv(T * B * I);
  for (size_t i = 0; i < xv.size(); ++i) xv[i] = 0.1 * static_cast<double>(i) - 1;
  Expr x = g.Input({T, B, I}, xv, {.requires_grad = true});
  std::vector<Expr> steps = Split(x, T, 0);
  ASSERT_EQ(steps.size(), static_cast<size_t>(T));
  EXPECT_EQ(steps[3].value()->raw(), static_cast<double*>(x.value()->raw()) + 3 * B * I);
  Expr h = g.Fill({1, B, I}, 0.0, DType::kF64);
  for (const Expr& s : steps) h = Tanh(h + s);
  auto grads = Backward(Sum(h), {x});
  ASSERT_TRUE(grads.ok()) << grads.status();
  std::vector<double> dx = Read<double>((*grads)[0]);
  // Compare with finite differences of the same recurrence.
  GradCheckInput in{.shape = {T, B, I}, .values = xv};
  absl::Status s = CheckGradients(
      [&](Graph& gg, absl::Span<const Expr> xs) {
        Expr hh = gg.Fill({1, B, I}, 0.0, DType::kF64);
        for (const Expr& st : Split(xs[0], T, 0)) hh = Tanh(hh + st);
        return Sum(hh);
      },
      {in}, {.max_coords_per_input = 1000});
  EXPECT_TRUE(s.ok()) << s;
  EXPECT_GT(std::abs(dx[0]), 0);
}

TEST(BackwardTest, SecondDerivativeOfTanhMatchesFiniteDifferences) {
  // d/dx tanh(x) = 1 - tanh^2; differentiate that again through the gradient graph.
  GradCheckInput in{.shape = {5}, .values = {-1.2, -0.3, 0.1, 0.8, 1.7}};
  absl::Status s = CheckGradients(
      [](Graph& g, absl::Span<const Expr> x) {
        auto dx = Backward(Sum(Tanh(x[0])), {x[0]}, {.create_graph = true});
        std::vector<double> w = {0.7, -1.1, 0.9, 1.3, -0.6};
        return Sum(dx.value()[0] * g.Constant({5}, w));
      },
      {in});
  EXPECT_TRUE(s.ok()) << s;
}

TEST(BackwardTest, SecondDerivativeOfTanhXWMatchesFiniteDifferences) {
  GradCheckInput x{.shape = {2, 3}, .values = {0.1, -0.4, 0.7, 0.2, 0.5, -0.9}};
  GradCheckInput w{.shape = {3, 2}, .values = {0.3, -0.2, 0.8, 0.1, -0.5, 0.6}};
  absl::Status s = CheckGradients(
      [](Graph& g, absl::Span<const Expr> in) {
        Expr y = Tanh(MatMul(in[0], in[1]));
        auto d = Backward(Sum(y * y), {in[0], in[1]}, {.create_graph = true});
        std::vector<double> cx = {1, -2, 0.5, 0.3, 1.1, -0.7}, cw = {0.2, 0.9, -1, 0.4, 0.6, -0.3};
        return Sum(d.value()[0] * g.Constant({2, 3}, cx)) +
               Sum(d.value()[1] * g.Constant({3, 2}, cw));
      },
      {x, w});
  EXPECT_TRUE(s.ok()) << s;
}

TEST(BackwardTest, ReturnsTheFirstGraphError) {
  Graph g;
  std::vector<double> a(6, 1.0), b(5, 1.0);
  Expr x = g.Input({2, 3}, a, {.requires_grad = true});
  Expr bad = MatMul(x, g.Input({5, 1}, b));
  Expr loss = Sum(Tanh(bad));
  absl::Status s = Backward(loss);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("matmul"), std::string::npos) << s;
}

TEST(BackwardTest, RefusesANonScalarLossAndInferenceMode) {
  Graph g;
  std::vector<double> a(6, 1.0);
  Expr x = g.Input({2, 3}, a, {.requires_grad = true});
  EXPECT_EQ(Backward(Tanh(x)).code(), absl::StatusCode::kInvalidArgument);
  Graph inference({.mode = ExecMode::kInference});
  Expr y = inference.Input({2, 3}, a, {.requires_grad = true});
  EXPECT_EQ(Backward(Sum(y)).code(), absl::StatusCode::kFailedPrecondition);
}

// Token ids have no gradient: asking for one is an error naming the Expr, not a zero.
TEST(BackwardTest, RefusesTheGradientOfAnIntegerInput) {
  Graph g;
  Expr table = g.Input({5, 2}, std::vector<double>(10, 0.5), {.requires_grad = true});
  Expr ids = [&] {
    auto scope = g.Scope("tokens");
    return g.Input({3}, std::vector<int32_t>{4, 0, 4});
  }();
  Expr loss = Sum(Embedding(table, ids));
  absl::StatusOr<std::vector<Expr>> grads = Backward(loss, {table, ids});
  ASSERT_EQ(grads.status().code(), absl::StatusCode::kInvalidArgument) << grads.status();
  const std::string message(grads.status().message());
  for (const std::string& part :
       {std::string("wrt[1]"), std::string("i32"), fmt::format("node #{}", ids.id()),
        std::string("tokens/")}) {
    EXPECT_NE(message.find(part), std::string::npos) << part << " missing in: " << message;
  }
  // The float input alone still gets its gradient: row 4 is read twice, row 0 once.
  grads = Backward(loss, {table});
  ASSERT_TRUE(grads.ok()) << grads.status();
  EXPECT_EQ(Read<double>((*grads)[0]), (std::vector<double>{1, 1, 0, 0, 0, 0, 0, 0, 2, 2}));
}

// A gradient that flows through the same tensor twice within one VJP (x * x) and a
// pass-through gradient (add) must both count once each.
TEST(BackwardTest, SquareThroughMulAndPassThroughAdd) {
  Graph g;
  std::vector<double> xv = {1.5, -2};
  Expr x = g.Input({2}, xv, {.requires_grad = true});
  auto grads = Backward(Sum(x * x + x), {x});
  ASSERT_TRUE(grads.ok());
  EXPECT_EQ(Read<double>((*grads)[0]), (std::vector<double>{4, -3}));
}


// Bytes Backward allocates for an Elman RNN of T steps (hidden 64, batch 1): gradient
// products for W land in the parameter's gradient (GEMM with beta = 1), so backward does not
// hold T copies of dW, and the steps split out of x [T,1,64] share one gradient buffer.
size_t BackwardBytes(int T) {
  ParameterStore store({.seed = 2});
  Parameter w = *store.Add("w", {64, 64}, Init::Orthogonal(0.9));
  Parameter u = *store.Add("u", {64, 64}, Init::GlorotUniform());
  Graph g;
  std::vector<float> xv(T * 64, 0.5f);
  Expr x = g.Input({T, 1, 64}, xv, {.requires_grad = true});
  Expr h = g.Fill({1, 64}, 0.0);
  for (Expr step : Split(x, T, 0)) {
    h = Tanh(MatMul(Reshape(step, {1, 64}), g.Param(u)) + MatMul(h, g.Param(w)));
  }
  Expr loss = Sum(h);
  size_t before = g.arena().used_bytes();
  EXPECT_TRUE(Backward(loss, {x}).ok());
  EXPECT_TRUE(Backward(loss).ok());
  return g.arena().used_bytes() - before;
}

TEST(BackwardTest, GradientMemoryGrowsWithActivationsNotWithCopiesOfWeights) {
  const size_t weight_bytes = 64 * 64 * sizeof(float);
  size_t b32 = BackwardBytes(32), b64 = BackwardBytes(64);
  // Two backward passes over 64 steps: far below even one dW copy per step.
  EXPECT_LT(b64, 64 * weight_bytes / 8) << b64;
  // Linear in T: doubling the steps at most about doubles the bytes (no T^2 term).
  EXPECT_LT(b64, 2 * b32 + weight_bytes) << b32 << " " << b64;
}

// Arena bytes of Backward(loss, {x}) for a tanh RNN h_t = tanh(x_t U + h_{t-1} W) of T steps,
// batch B, hidden H (input size H too).
struct RnnBackwardBytes {
  size_t arena = 0;   // growth of the arena's used bytes during Backward
  size_t step = 0;    // bytes of one [B,H] gradient
  size_t x_grad = 0;  // bytes of dx [T,B,H] (returned, so kept)
};
RnnBackwardBytes TanhRnnBackwardBytes(int T, bool reuse) {
  const int B = 4, H = 64;
  ParameterStore store({.seed = 3});
  Parameter w = *store.Add("w", {H, H}, Init::Orthogonal(0.9));
  Parameter u = *store.Add("u", {H, H}, Init::GlorotUniform());
  Graph g;
  std::vector<float> xv(T * B * H, 0.25f);
  Expr x = g.Input({T, B, H}, xv, {.requires_grad = true});
  Expr h = g.Fill({B, H}, 0.0);
  for (Expr step : Split(x, T, 0)) {
    h = Tanh(MatMul(Reshape(step, {B, H}), g.Param(u)) + MatMul(h, g.Param(w)));
  }
  Expr loss = Sum(h);
  const size_t before = g.arena().used_bytes();
  EXPECT_TRUE(Backward(loss, {x}, {.reuse_buffers = reuse}).ok());
  return {.arena = g.arena().used_bytes() - before,
          .step = B * H * sizeof(float),
          .x_grad = T * B * H * sizeof(float)};
}

// Backward frees each gradient buffer once nothing can read it, so BPTT's gradient memory is
// one step's worth, not T steps'. Each step t needs two fresh [B,H] buffers: the tanh
// derivative product g_t * (1 - h_t^2) and dh_{t-1} (dx_t lands in dx's own buffer). Kept
// until the end, that is >= 2 T [B,H] besides dx. With reuse, at most three [B,H] gradients
// are alive at once (dh_t, its tanh product, dh_{t-1}), so the arena grows by dx, at most
// three [B,H] and the loss's seed (one 64-byte block): independent of T, and for T = 64 over
// 30x below 2 T [B,H]. The bound allows four.
TEST(BackwardTest, GradientBuffersAreReusedSoBpttMemoryDoesNotGrowWithT) {
  for (int T : {16, 64}) {
    RnnBackwardBytes with = TanhRnnBackwardBytes(T, /*reuse=*/true);
    EXPECT_LE(with.arena, with.x_grad + 4 * with.step + 64) << "T=" << T;
    RnnBackwardBytes without = TanhRnnBackwardBytes(T, /*reuse=*/false);
    EXPECT_GE(without.arena, without.x_grad + 2 * T * without.step) << "T=" << T;
  }
}

// Everything Backward can hand out, as host vectors: parameter gradients from the store,
// returned gradients (for x and for views of an intermediate) and the forward values, which
// are read after Backward.
std::vector<std::vector<float>> LstmResults(bool reuse) {
  const int T = 24, B = 3, I = 5, H = 8;
  ParameterStore store({.seed = 4});
  LstmCell cell = *LstmCell::Create(store, {.input_size = I, .hidden_size = H});
  std::vector<float> xv(T * B * I), zv(T * B * I);
  for (size_t i = 0; i < xv.size(); ++i) {
    xv[i] = static_cast<float>(std::sin(0.7 * static_cast<double>(i)));
    zv[i] = static_cast<float>(std::cos(0.3 * static_cast<double>(i)));
  }
  std::vector<std::vector<float>> out;
  Graph g;
  // z's tanh comes first on the tape, so its derivative is allocated last in Backward: a
  // [T,B,I] buffer, the size of y's gradient. y's gradient must survive it, because the
  // returned gradients of y's steps are views of it.
  Expr z = g.Input({T, B, I}, zv, {.requires_grad = true});
  Expr a = Tanh(z);
  Expr x = g.Input({T, B, I}, xv, {.requires_grad = true});
  Expr y = Tanh(x);
  std::vector<Expr> steps = SplitSteps(y);
  UnrollResult r = Unroll(g, cell, steps, cell.ZeroState(g, B));
  Expr loss = Sum(StackSteps(r.outputs)) + Sum(a * a);
  auto forward = [&] {
    std::vector<std::vector<float>> values;
    for (Expr e : {loss, r.outputs[3], r.final.c, y}) values.push_back(*e.ToVector<float>());
    return values;
  };
  const std::vector<std::vector<float>> forward_before = forward();
  EXPECT_TRUE(Backward(loss, {.reuse_buffers = reuse}).ok());
  auto grads = Backward(loss, {x, steps[2], steps[T - 1], z}, {.reuse_buffers = reuse});
  EXPECT_TRUE(grads.ok()) << grads.status();
  if (!grads.ok()) return out;
  for (Expr e : *grads) out.push_back(*e.ToVector<float>());
  for (const Parameter& p : store.parameters()) {
    std::span<float> gr = p.grad().span<float>();
    out.emplace_back(gr.begin(), gr.end());
  }
  EXPECT_EQ(forward(), forward_before);  // forward values are never reused
  return out;
}

// Reuse changes where gradients live, never what they are: the same bits as without it.
TEST(BackwardTest, ReusedGradientBuffersGiveExactlyTheSameGradients) {
  std::vector<std::vector<float>> with = LstmResults(true), without = LstmResults(false);
  ASSERT_EQ(with.size(), without.size());
  for (size_t k = 0; k < with.size(); ++k) EXPECT_EQ(with[k], without[k]) << "result " << k;
}

// A longer recurrence than the op samples, with dx and dW both returned, against finite
// differences (float64).
TEST(BackwardTest, TanhRnnOf24StepsWithReuseMatchesFiniteDifferences) {
  const int T = 24, B = 2, H = 3;
  GradCheckInput x{.shape = {T, B, H}}, w{.shape = {H, H}};
  for (int i = 0; i < T * B * H; ++i) x.values.push_back(std::sin(0.9 * i));
  for (int i = 0; i < H * H; ++i) w.values.push_back(0.4 * std::cos(1.3 * i));
  absl::Status s = CheckGradients(
      [&](Graph& g, absl::Span<const Expr> in) {
        Expr h = g.Fill({B, H}, 0.0, DType::kF64);
        for (Expr step : Split(in[0], T, 0)) h = Tanh(Reshape(step, {B, H}) + MatMul(h, in[1]));
        return Sum(h * h);
      },
      {x, w}, {.max_coords_per_input = 1000});
  EXPECT_TRUE(s.ok()) << s;
}

}  // namespace
}  // namespace tg
