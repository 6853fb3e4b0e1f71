// Pointwise ops through the graph: values against std:: references, broadcasting, errors.
// (Their kernels called through the OpDefs: pointwise_kernels_test.cc. Gradients are checked
// by the registry-driven finite-difference test.)
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <set>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "absl/strings/match.h"
#include "graph/graph.h"
#include "graph/op_def.h"
#include "ops/kernels/pointwise.h"
#include "base/thread_pool.h"
#include "ops/ops.h"
#include "ops/registry.h"
#include "tests/ops/pointwise_test_util.h"

namespace tg {
namespace {

using namespace tg::testing;  // NOLINT: the shared helpers of the pointwise tests

// ---- every op against a std:: reference, through the graph ----

struct UnaryCase {
  const char* name;
  Expr (*op)(Expr);
  double (*ref)(double);
  double lo, hi;
};
const UnaryCase kUnaryCases[] = {
    {"neg", Neg, [](double x) { return -x; }, -3, 3},
    {"scale", [](Expr x) { return Scale(x, -1.5); }, [](double x) { return -1.5 * x; }, -3, 3},
    {"add_scalar", [](Expr x) { return AddScalar(x, 0.25); }, [](double x) { return x + 0.25; },
     -3, 3},
    {"sigmoid", Sigmoid, [](double x) { return 1 / (1 + std::exp(-x)); }, -8, 8},
    {"tanh", Tanh, [](double x) { return std::tanh(x); }, -4, 4},
    {"relu", Relu, [](double x) { return std::max(x, 0.0); }, -3, 3},
    {"exp", Exp, [](double x) { return std::exp(x); }, -5, 5},
    {"log", Log, [](double x) { return std::log(x); }, 0.01, 10},
    {"sqrt", Sqrt, [](double x) { return std::sqrt(x); }, 0, 10},
    {"square", Square, [](double x) { return x * x; }, -3, 3},
    {"copy", Copy, [](double x) { return x; }, -3, 3},
};

struct BinaryCase {
  const char* name;
  Expr (*op)(Expr, Expr);
  double (*ref)(double, double);
  double lo0, hi0, lo1, hi1;  // input ranges (div keeps b away from 0)
};
const BinaryCase kBinaryCases[] = {
    {"add", Add, [](double a, double b) { return a + b; }, -3, 3, -3, 3},
    {"sub", Sub, [](double a, double b) { return a - b; }, -3, 3, -3, 3},
    {"mul", Mul, [](double a, double b) { return a * b; }, -3, 3, -3, 3},
    {"div", Div, [](double a, double b) { return a / b; }, -3, 3, 0.5, 3},
    {"tanh_grad", TanhGrad, [](double y, double dy) { return dy * (1 - y * y); }, -1, 1, -3, 3},
    {"sigmoid_grad", SigmoidGrad, [](double y, double dy) { return dy * y * (1 - y); }, 0, 1, -3,
     3},
    {"relu_grad", ReluGrad, [](double x, double dy) { return x > 0 ? dy : 0.0; }, -3, 3, -3, 3},
};

template <class T>
void CheckUnaryOps() {
  for (const UnaryCase& c : kUnaryCases) {
    for (int64_t n : kSizes) {
      SCOPED_TRACE(fmt::format("{} {} n={}", c.name, DTypeLabel<T>(), n));
      Graph g;
      const std::vector<T> x = Uniform<T>(n, c.lo, c.hi, 11 + n);
      std::vector<double> want(n);
      for (int64_t i = 0; i < n; ++i) want[i] = c.ref(x[i]);
      ExpectAllClose(Read<T>(c.op(g.Input(Shape{n}, x))), want);
      EXPECT_TRUE(g.status().ok()) << g.status();
    }
  }
}

template <class T>
void CheckBinaryOps() {
  for (const BinaryCase& c : kBinaryCases) {
    for (int64_t n : kSizes) {
      SCOPED_TRACE(fmt::format("{} {} n={}", c.name, DTypeLabel<T>(), n));
      Graph g;
      const std::vector<T> a = Uniform<T>(n, c.lo0, c.hi0, 21 + n);
      const std::vector<T> b = Uniform<T>(n, c.lo1, c.hi1, 31 + n);
      std::vector<double> want(n);
      for (int64_t i = 0; i < n; ++i) want[i] = c.ref(a[i], b[i]);
      ExpectAllClose(Read<T>(c.op(g.Input(Shape{n}, a), g.Input(Shape{n}, b))), want);
      EXPECT_TRUE(g.status().ok()) << g.status();
    }
  }
}

TEST(PointwiseOpsTest, UnaryOpsMatchStdInF32AndF64) {
  CheckUnaryOps<float>();
  CheckUnaryOps<double>();
}

TEST(PointwiseOpsTest, BinaryOpsAndGradHelpersMatchStdInF32AndF64) {
  CheckBinaryOps<float>();
  CheckBinaryOps<double>();
}

TEST(PointwiseOpsTest, OperatorsAreTheirOps) {
  Graph g;
  const std::vector<double> xs = {-2, -0.5, 0.25, 3}, ys = {1.5, -4, 2, 0.5};
  Expr x = g.Input(Shape{4}, xs), y = g.Input(Shape{4}, ys);
  struct Case {
    const char* what;
    Expr e;
    double (*ref)(double, double);
  };
  const Case cases[] = {
      {"x + y", x + y, [](double a, double b) { return a + b; }},
      {"x - y", x - y, [](double a, double b) { return a - b; }},
      {"x * y", x * y, [](double a, double b) { return a * b; }},
      {"x / y", x / y, [](double a, double b) { return a / b; }},
      {"-x", -x, [](double a, double) { return -a; }},
      {"x + 1.5", x + 1.5, [](double a, double) { return a + 1.5; }},
      {"1.5 + x", 1.5 + x, [](double a, double) { return 1.5 + a; }},
      {"x - 1.5", x - 1.5, [](double a, double) { return a - 1.5; }},
      {"1.5 - x", 1.5 - x, [](double a, double) { return 1.5 - a; }},
      {"x * 3", x * 3.0, [](double a, double) { return a * 3; }},
      {"3 * x", 3.0 * x, [](double a, double) { return 3 * a; }},
      {"x / 4", x / 4.0, [](double a, double) { return a / 4; }},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    std::vector<double> want(4);
    for (int i = 0; i < 4; ++i) want[i] = c.ref(xs[i], ys[i]);
    ExpectAllClose(Read<double>(c.e), want);
  }
  EXPECT_TRUE(g.status().ok()) << g.status();
}

// ---- broadcasting ----

// NumPy broadcasting by explicit multi-indices: the reference for the kernel's run plan.
std::vector<double> BroadcastReference(const Shape& as, const std::vector<double>& a,
                                       const Shape& bs, const std::vector<double>& b,
                                       const Shape& os, double (*f)(double, double)) {
  std::vector<double> out(os.num_elements());
  auto operand_index = [&](const Shape& s, const std::vector<int64_t>& idx) {
    int64_t linear = 0;
    for (int i = 0; i < s.rank(); ++i) {
      const int64_t j = idx[os.rank() - s.rank() + i];
      linear = linear * s[i] + (s[i] == 1 ? 0 : j);
    }
    return linear;
  };
  std::vector<int64_t> idx(os.rank());
  for (int64_t o = 0; o < os.num_elements(); ++o) {
    int64_t rest = o;
    for (int i = os.rank() - 1; i >= 0; --i) idx[i] = rest % os[i], rest /= os[i];
    out[o] = f(a[operand_index(as, idx)], b[operand_index(bs, idx)]);
  }
  return out;
}

template <class T>
void CheckBroadcasting() {
  struct Case {
    Shape a, b, out;
  };
  const Case cases[] = {
      {{3, 4}, {4}, {3, 4}},          {{4}, {3, 4}, {3, 4}},
      {{3, 1}, {1, 4}, {3, 4}},       {{1, 4}, {3, 1}, {3, 4}},
      {{}, {5}, {5}},                 {{5}, {}, {5}},
      {{2, 3, 4}, {3, 1}, {2, 3, 4}}, {{3, 1}, {2, 3, 4}, {2, 3, 4}},
      {{2, 1, 4}, {3, 1}, {2, 3, 4}}, {{2, 3, 1}, {1, 3, 17}, {2, 3, 17}},
      {{33, 1}, {1}, {33, 1}},        {{1, 1, 3}, {2, 1, 1}, {2, 1, 3}},
      {{4, 33}, {4, 1}, {4, 33}},
  };
  for (const BinaryCase& op : kBinaryCases) {
    if (std::string_view(op.name).find("grad") != std::string_view::npos) continue;
    for (const Case& c : cases) {
      SCOPED_TRACE(fmt::format("{} {} {} {}", op.name, DTypeLabel<T>(), c.a, c.b));
      Graph g;
      const std::vector<T> a = Uniform<T>(c.a.num_elements(), op.lo0, op.hi0, 41);
      const std::vector<T> b = Uniform<T>(c.b.num_elements(), op.lo1, op.hi1, 43);
      Expr y = op.op(g.Input(c.a, a), g.Input(c.b, b));
      ASSERT_TRUE(g.status().ok()) << g.status();
      EXPECT_EQ(y.shape().ToString(), c.out.ToString());
      ExpectAllClose(Read<T>(y),
                     BroadcastReference(c.a, std::vector<double>(a.begin(), a.end()), c.b,
                                        std::vector<double>(b.begin(), b.end()), c.out, op.ref));
    }
  }
}

TEST(PointwiseOpsTest, BinaryOpsBroadcastAsNumPyInF32AndF64) {
  CheckBroadcasting<float>();
  CheckBroadcasting<double>();
}

// ---- errors ----

TEST(PointwiseOpsTest, BadBroadcastNamesOpShapesAndPath) {
  Graph g;
  Expr a = g.Input(Shape{3, 4}, std::vector<float>(12, 1.0f));
  Expr b = g.Input(Shape{5}, std::vector<float>(5, 1.0f));
  Expr bad;
  {
    auto scope = g.Scope("step_3");
    bad = Add(a, b);
  }
  ASSERT_EQ(g.status().code(), absl::StatusCode::kInvalidArgument) << g.status();
  const std::string message(g.status().message());
  EXPECT_TRUE(absl::StartsWith(message, "add: ")) << message;
  EXPECT_TRUE(absl::StrContains(message, "[3,4]")) << message;
  EXPECT_TRUE(absl::StrContains(message, "[5]")) << message;
  EXPECT_TRUE(absl::StrContains(message, "step_3/add")) << message;
  EXPECT_FALSE(bad.value().ok());
}

TEST(PointwiseOpsTest, LaterOpsOnAPoisonedResultKeepTheFirstError) {
  Graph g;
  Expr a = g.Input(Shape{3, 4}, std::vector<float>(12, 1.0f));
  Expr bad = Mul(a, g.Input(Shape{5}, std::vector<float>(5, 1.0f)));
  const absl::Status first = g.status();
  ASSERT_FALSE(first.ok());
  Expr later = Tanh(bad) + a;
  EXPECT_EQ(g.status(), first);
  EXPECT_FALSE(later.value().ok());
  // A fresh, unrelated error does not replace the first one either.
  Sub(g.Input(Shape{2}, std::vector<float>(2)), g.Input(Shape{3}, std::vector<float>(3)));
  EXPECT_EQ(g.status(), first);
  EXPECT_TRUE(absl::StrContains(g.status().message(), "mul")) << g.status();
}

TEST(PointwiseOpsTest, MixedDTypesAreRefused) {
  Graph g;
  Add(g.Input(Shape{3}, std::vector<float>(3)), g.Input(Shape{3}, std::vector<double>(3)));
  EXPECT_EQ(g.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(g.status().message(), "dtypes differ: f32 and f64")) << g.status();
}

TEST(PointwiseOpsTest, IntInputsAreRefused) {
  {
    Graph g;
    Tanh(g.Input(Shape{3}, std::vector<int32_t>{1, 2, 3}));
    EXPECT_EQ(g.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_TRUE(absl::StrContains(g.status().message(), "i32")) << g.status();
  }
  {
    Graph g;
    Expr ids = g.Input(Shape{3}, std::vector<int32_t>{1, 2, 3});
    Add(ids, ids);
    EXPECT_EQ(g.status().code(), absl::StatusCode::kInvalidArgument);
  }
}

TEST(PointwiseOpsTest, GradHelpersRequireEqualShapes) {
  Graph g;
  TanhGrad(g.Input(Shape{3}, std::vector<float>(3)), g.Input(Shape{1}, std::vector<float>(1)));
  EXPECT_EQ(g.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(g.status().message(), "tanh_grad")) << g.status();
  EXPECT_TRUE(absl::StrContains(g.status().message(), "shapes differ")) << g.status();
}

}  // namespace
}  // namespace tg
