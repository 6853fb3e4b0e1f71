// normalize and normalize_grad against naive double references (sizes with and without a SIMD
// remainder, accumulate), float rows far from 0 (the shifted one-pass statistics must not
// cancel), mul_add's broadcasts against Mul and Add, mul_sum_to against SumTo of the product,
// and the shape errors of each.
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "graph/graph.h"
#include "ops/ops.h"
#include "testing/test_values.h"
#include "tests/ops/op_test_util.h"

namespace tg {
namespace {

using testing::kSizes;
using testing::Uniform;

// (x - mean) / sqrt(var + eps) per row of [rows, cols], in double.
template <class T>
std::vector<double> NormalizeRef(const std::vector<T>& x, int64_t rows, int64_t cols,
                                 double eps) {
  std::vector<double> out(x.size());
  for (int64_t r = 0; r < rows; ++r) {
    double mean = 0, var = 0;
    for (int64_t c = 0; c < cols; ++c) mean += x[r * cols + c];
    mean /= static_cast<double>(cols);
    for (int64_t c = 0; c < cols; ++c) var += (x[r * cols + c] - mean) * (x[r * cols + c] - mean);
    const double s = 1 / std::sqrt(var / static_cast<double>(cols) + eps);
    for (int64_t c = 0; c < cols; ++c) out[r * cols + c] = (x[r * cols + c] - mean) * s;
  }
  return out;
}

// s * (dy - mean(dy) - y * mean(dy * y)) per row, in double.
template <class T>
std::vector<double> NormalizeGradRef(const std::vector<T>& x, const std::vector<T>& dy,
                                     int64_t rows, int64_t cols, double eps) {
  const std::vector<double> y = NormalizeRef(x, rows, cols, eps);
  std::vector<double> out(x.size());
  for (int64_t r = 0; r < rows; ++r) {
    double mean = 0, var = 0, a = 0, b = 0;
    for (int64_t c = 0; c < cols; ++c) mean += x[r * cols + c];
    mean /= static_cast<double>(cols);
    for (int64_t c = 0; c < cols; ++c) var += (x[r * cols + c] - mean) * (x[r * cols + c] - mean);
    const double s = 1 / std::sqrt(var / static_cast<double>(cols) + eps);
    for (int64_t c = 0; c < cols; ++c) {
      a += dy[r * cols + c];
      b += dy[r * cols + c] * y[r * cols + c];
    }
    a /= static_cast<double>(cols);
    b /= static_cast<double>(cols);
    for (int64_t c = 0; c < cols; ++c) {
      out[r * cols + c] = s * (dy[r * cols + c] - a - y[r * cols + c] * b);
    }
  }
  return out;
}

template <class T>
void ExpectNear(const std::vector<T>& got, const std::vector<double>& want, double atol,
                const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  for (size_t i = 0; i < want.size(); ++i) ASSERT_NEAR(got[i], want[i], atol) << what << " " << i;
}

template <class T>
void CheckNormalize() {
  const double tol = sizeof(T) == 4 ? 2e-5 : 1e-12;
  uint64_t seed = 3;
  for (int64_t rows : kSizes) {
    for (int64_t cols : kSizes) {
      const std::string what = fmt::format("[{},{}]", rows, cols);
      const std::vector<T> x = Uniform<T>(rows * cols, -2, 3, seed++);
      const std::vector<T> dy = Uniform<T>(rows * cols, -1, 1, seed++);
      Graph g;
      Expr xe = g.Input({rows, cols}, x), dye = g.Input({rows, cols}, dy);
      absl::StatusOr<std::vector<T>> y = Normalize(xe, 1e-3).ToVector<T>();
      absl::StatusOr<std::vector<T>> dx = NormalizeGrad(xe, dye, 1e-3).ToVector<T>();
      ASSERT_TRUE(y.ok() && dx.ok()) << what << ": " << g.status();
      ExpectNear(*y, NormalizeRef(x, rows, cols, 1e-3), tol * 10, what + " normalize");
      ExpectNear(*dx, NormalizeGradRef(x, dy, rows, cols, 1e-3), tol * 100, what + " grad");
      // Accumulating adds the same values onto what the output held.
      std::vector<T> acc(x.size(), T(0.5));
      ASSERT_TRUE(testing::RunKernel(testing::Op("normalize"),
                                     {Tensor(const_cast<T*>(x.data()), DTypeOf<T>(), {rows, cols})},
                                     Tensor(acc.data(), DTypeOf<T>(), {rows, cols}),
                                     g.node(Normalize(xe, 1e-3).id()).attrs, /*accumulate=*/true)
                      .ok());
      for (size_t i = 0; i < acc.size(); ++i) {
        ASSERT_NEAR(acc[i], T(0.5) + (*y)[i], tol) << what;
      }
    }
  }
}

TEST(NormalizeTest, MatchesTheNaiveRowStatisticsF32) { CheckNormalize<float>(); }
TEST(NormalizeTest, MatchesTheNaiveRowStatisticsF64) { CheckNormalize<double>(); }

// Rows around 1e4 with a spread of 0.01: the mean of squares minus the squared mean would
// lose every digit in float; the shifted sums keep them.
TEST(NormalizeTest, FloatRowsFarFromZeroKeepTheirSpread) {
  constexpr int64_t kRows = 3, kCols = 40;
  std::vector<float> x(kRows * kCols);
  for (int64_t i = 0; i < kRows * kCols; ++i) {
    x[i] = 1e4f + 0.01f * static_cast<float>(std::sin(0.7 * static_cast<double>(i)));
  }
  Graph g;
  absl::StatusOr<std::vector<float>> y = Normalize(g.Input({kRows, kCols}, x), 0).ToVector<float>();
  ASSERT_TRUE(y.ok()) << g.status();
  ExpectNear(*y, NormalizeRef(x, kRows, kCols, 0), 2e-3, "far from zero");
}

TEST(NormalizeTest, RefusesScalarsAndNegativeEps) {
  {
    Graph g;
    Normalize(g.Input({}, std::vector<double>{1.0}), 1e-5);
    testing::ExpectError(g, {"normalize", "rank >= 1"});
  }
  {
    Graph g;
    Normalize(g.Input({2, 3}, std::vector<double>(6, 1.0)), -1);
    testing::ExpectError(g, {"normalize", "eps must be >= 0"});
  }
  {
    Graph g;
    NormalizeGrad(g.Input({2, 3}, std::vector<double>(6, 1.0)),
                  g.Input({3, 2}, std::vector<double>(6, 1.0)), 1e-5);
    testing::ExpectError(g, {"normalize_grad", "shapes differ"});
  }
}

// mul_add gives a * b + c for each way b and c may broadcast, as Mul then Add does.
TEST(MulAddTest, BroadcastsAsMulThenAdd) {
  const std::vector<Shape> operands = {{4, 3, 5}, {5}, {1, 5}, {4, 3, 1}, {1}, {}};
  uint64_t seed = 7;
  for (const Shape& b_shape : operands) {
    for (const Shape& c_shape : operands) {
      const std::string what = fmt::format("b {} c {}", b_shape, c_shape);
      Graph g;
      Expr a = g.Input({4, 3, 5}, Uniform<double>(60, -1, 1, seed++));
      Expr b = g.Input(b_shape, Uniform<double>(b_shape.num_elements(), -1, 1, seed++));
      Expr c = g.Input(c_shape, Uniform<double>(c_shape.num_elements(), -1, 1, seed++));
      absl::StatusOr<std::vector<double>> got = MulAdd(a, b, c).ToVector<double>();
      absl::StatusOr<std::vector<double>> want = (a * b + c).ToVector<double>();
      ASSERT_TRUE(got.ok() && want.ok()) << what << ": " << g.status();
      ExpectNear(*got, std::vector<double>(want->begin(), want->end()), 1e-15, what);
    }
  }
}

// mul_sum_to sums a * b over the rows, column by column, as SumTo(a * b) does; accumulating
// adds onto the output. Widths past the kernel's register blocks and with SIMD remainders.
template <class T>
void CheckMulSumTo() {
  const double tol = sizeof(T) == 4 ? 1e-4 : 1e-12;
  uint64_t seed = 11;
  for (int64_t rows : kSizes) {
    for (int64_t cols : {int64_t{1}, int64_t{3}, int64_t{17}, int64_t{33}, int64_t{70},
                         int64_t{130}}) {
      const std::string what = fmt::format("[{},{}]", rows, cols);
      Graph g;
      Expr a = g.Input({rows, cols}, Uniform<T>(rows * cols, -1, 1, seed++));
      Expr b = g.Input({rows, cols}, Uniform<T>(rows * cols, -1, 1, seed++));
      absl::StatusOr<std::vector<T>> got = MulSumTo(a, b, {cols}).ToVector<T>();
      absl::StatusOr<std::vector<T>> want = SumTo(a * b, {cols}).ToVector<T>();
      ASSERT_TRUE(got.ok() && want.ok()) << what << ": " << g.status();
      ExpectNear(*got, std::vector<double>(want->begin(), want->end()), tol, what);
      std::vector<T> acc(cols, T(2));
      const Node& n = g.node(MulSumTo(a, b, {1, cols}).id());
      ASSERT_TRUE(testing::RunKernel(testing::Op("mul_sum_to"),
                                     {g.node(a.id()).value, g.node(b.id()).value},
                                     Tensor(acc.data(), DTypeOf<T>(), {1, cols}), n.attrs,
                                     /*accumulate=*/true)
                      .ok());
      for (int64_t j = 0; j < cols; ++j) ASSERT_NEAR(acc[j], 2 + (*got)[j], tol) << what;
    }
  }
}

TEST(MulSumToTest, SumsColumnProductsOverRowsF32) { CheckMulSumTo<float>(); }
TEST(MulSumToTest, SumsColumnProductsOverRowsF64) { CheckMulSumTo<double>(); }

TEST(MulSumToTest, RefusesOtherTargets) {
  Graph g;
  Expr a = g.Input({3, 4}, std::vector<double>(12, 1.0));
  MulSumTo(a, a, {3, 1});
  testing::ExpectError(g, {"mul_sum_to", "cannot sum [3,4] to [3,1]"});
}

TEST(MulAddTest, RefusesOperandsThatDoNotReadAsRowsColumnsOrOneElement) {
  Graph g;
  MulAdd(g.Input({4, 5}, std::vector<double>(20, 1.0)), g.Input({4}, std::vector<double>(4, 1.0)),
         g.Input({5}, std::vector<double>(5, 1.0)));
  testing::ExpectError(g, {"mul_add", "input 1 is [4]", "[4,5]"});
}

}  // namespace
}  // namespace tg
