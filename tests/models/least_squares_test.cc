// FitLeastSquares: recovers a known linear map (several outputs at once), agrees with the
// normal equations solved by hand, and refuses bad sizes and values.
#include "models/least_squares.h"

#include <cmath>
#include <limits>
#include <vector>

#include "base/random.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace tg {
namespace {

using ::testing::HasSubstr;

TEST(LeastSquaresTest, RecoversAnExactLinearMapForEveryOutput) {
  // y0 = 2 x0 - x1 + 0.5, y1 = -3 x1 + 4 (noise free): the fit is exact.
  Rng rng(7);
  const int64_t rows = 50;
  std::vector<double> x, y;
  for (int64_t r = 0; r < rows; ++r) {
    const double a = rng.Uniform(-1, 1), b = rng.Uniform(-1, 1);
    x.insert(x.end(), {a, b});
    y.insert(y.end(), {2 * a - b + 0.5, -3 * b + 4});
  }
  absl::StatusOr<LinearFit> fit = FitLeastSquares(x, y, rows);
  ASSERT_TRUE(fit.ok()) << fit.status();
  EXPECT_EQ(fit->inputs, 2);
  EXPECT_EQ(fit->outputs, 2);
  EXPECT_NEAR(fit->coefficient(0, 0), 2, 1e-6);
  EXPECT_NEAR(fit->coefficient(0, 1), -1, 1e-6);
  EXPECT_NEAR(fit->intercept(0), 0.5, 1e-6);
  EXPECT_NEAR(fit->coefficient(1, 0), 0, 1e-6);
  EXPECT_NEAR(fit->coefficient(1, 1), -3, 1e-6);
  EXPECT_NEAR(fit->intercept(1), 4, 1e-6);
  std::vector<double> p = fit->Predict({0.25, -0.5});
  ASSERT_EQ(p.size(), 2u);
  EXPECT_NEAR(p[0], 1.5, 1e-6);
  EXPECT_NEAR(p[1], 5.5, 1e-6);
  EXPECT_TRUE(fit->Predict({1.0}).empty());  // wrong width
}

TEST(LeastSquaresTest, NoisyDataGiveTheMeanOfTheTargets) {
  // One input that is always 0: the best fit is the intercept = mean(y), coefficient ~0
  // (the ridge resolves the zero column).
  std::vector<double> x = {0, 0, 0, 0}, y = {1, 2, 4, 9};
  absl::StatusOr<LinearFit> fit = FitLeastSquares(x, y, 4);
  ASSERT_TRUE(fit.ok()) << fit.status();
  EXPECT_NEAR(fit->intercept(0), 4, 1e-6);
  EXPECT_NEAR(fit->coefficient(0, 0), 0, 1e-6);
}

TEST(LeastSquaresTest, FewerRowsThanInputsStillSolve) {
  std::vector<double> x = {1, 2, 3, 4, 5, 6};  // one row, six inputs
  absl::StatusOr<LinearFit> fit = FitLeastSquares(x, {10.0}, 1, 1e-6);
  ASSERT_TRUE(fit.ok()) << fit.status();
  EXPECT_NEAR(fit->Predict(x)[0], 10, 1e-3);  // interpolates its one row
}

TEST(LeastSquaresTest, RefusesBadSizesAndValues) {
  EXPECT_THAT(FitLeastSquares({1, 2, 3}, {1, 2}, 2).status().message(),
              HasSubstr("3 inputs and 2 targets do not make 2"));
  EXPECT_THAT(FitLeastSquares({}, {}, 0).status().message(), HasSubstr("0 non-empty rows"));
  const double nan = std::numeric_limits<double>::quiet_NaN();
  EXPECT_THAT(FitLeastSquares({1, nan}, {1, 2}, 2).status().message(),
              HasSubstr("input 0 of row 1 is nan"));
  EXPECT_THAT(FitLeastSquares({1, 2}, {1, INFINITY}, 2).status().message(),
              HasSubstr("target 0 of row 1 is inf"));
  EXPECT_THAT(FitLeastSquares({1, 2}, {1, 2}, 2, -1).status().message(), HasSubstr("ridge -1"));
  // Without a ridge a zero column leaves the normal equations singular.
  EXPECT_EQ(FitLeastSquares({0, 0}, {1, 2}, 2, 0).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace tg
