// Per-window normalisation: each level, the scale and its floor, differencing, and that
// Denormalize undoes Normalize.
#include "models/window_norm.h"

#include <cmath>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace tg {
namespace {

using ::testing::DoubleNear;
using ::testing::ElementsAre;
using ::testing::Pointwise;

// Population standard deviation of {1, 2, 3, 6}: mean 3, squares 4 + 1 + 0 + 9 = 14.
const std::vector<double> kWindow = {1, 2, 3, 6};
const double kSpread = std::sqrt(14.0 / 4);

TEST(WindowNormTest, LastLevelAndTheWindowsSpread) {
  WindowNorm norm = FitWindowNorm(kWindow, {.level = WindowLevel::kLast});
  EXPECT_DOUBLE_EQ(norm.level, 6);
  EXPECT_DOUBLE_EQ(norm.scale, kSpread);
  EXPECT_THAT(NormalizeWindow(kWindow, norm, {}),
              Pointwise(DoubleNear(1e-12), {-5 / kSpread, -4 / kSpread, -3 / kSpread, 0.0}));
}

TEST(WindowNormTest, MeanAndNoLevel) {
  EXPECT_DOUBLE_EQ(FitWindowNorm(kWindow, {.level = WindowLevel::kMean}).level, 3);
  WindowNorm none = FitWindowNorm(kWindow, {.level = WindowLevel::kNone, .scale = false});
  EXPECT_DOUBLE_EQ(none.level, 0);
  EXPECT_DOUBLE_EQ(none.scale, 1);
}

TEST(WindowNormTest, DenormalizeUndoesNormalize) {
  WindowNorm norm = FitWindowNorm(kWindow, {.level = WindowLevel::kMean});
  for (double v : {-7.5, 0.0, 3.25, 1e4}) EXPECT_NEAR(norm.Denormalize(norm.Normalize(v)), v, 1e-9);
  // A trending window far above anything "seen" normalises to the same inputs as a low one.
  std::vector<double> high = {1001, 1002, 1003, 1006};
  WindowNormOptions options{.level = WindowLevel::kLast};
  EXPECT_THAT(NormalizeWindow(high, FitWindowNorm(high, options), options),
              Pointwise(DoubleNear(1e-9),
                        NormalizeWindow(kWindow, FitWindowNorm(kWindow, options), options)));
}

TEST(WindowNormTest, AFlatWindowDividesByTheFloorNotByZero) {
  const std::vector<double> flat = {5, 5, 5};
  WindowNorm floored = FitWindowNorm(flat, {.min_scale = 0.5});
  EXPECT_DOUBLE_EQ(floored.scale, 0.5);
  EXPECT_THAT(NormalizeWindow(flat, floored, {}), ElementsAre(0, 0, 0));
  // Without a floor a constant window still gets a usable scale.
  EXPECT_DOUBLE_EQ(FitWindowNorm(flat, {}).scale, 1);
  // The floor only raises: a wide window keeps its own spread.
  EXPECT_DOUBLE_EQ(FitWindowNorm(kWindow, {.min_scale = 0.5}).scale, kSpread);
}

TEST(WindowNormTest, DifferencesAreOneShorterAndScaled) {
  WindowNormOptions options{.difference = true};
  WindowNorm norm = FitWindowNorm(kWindow, options);
  EXPECT_THAT(NormalizeWindow(kWindow, norm, options),
              Pointwise(DoubleNear(1e-12), {1 / kSpread, 1 / kSpread, 3 / kSpread}));
  EXPECT_EQ(NormalizedWindowSize(4, options), 3);
  EXPECT_EQ(NormalizedWindowSize(4, {}), 4);
}

TEST(WindowNormTest, AnEmptyWindowIsTheIdentity) {
  WindowNorm norm = FitWindowNorm({}, {});
  EXPECT_DOUBLE_EQ(norm.level, 0);
  EXPECT_DOUBLE_EQ(norm.scale, 1);
}

}  // namespace
}  // namespace tg
