// SeasonalNaiveForecast repeats the last season (persistence at period 1 and at step =
// period); DetectPeriod finds a season under a trend and reports none in noise.
#include "models/seasonal_naive.h"

#include <cmath>
#include <numbers>
#include <vector>

#include "base/random.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace tg {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(SeasonalNaiveTest, RepeatsTheLastSeason) {
  const std::vector<double> history = {9, 9, 1, 2, 3, 4};  // the last season of 4: 1 2 3 4
  EXPECT_THAT(*SeasonalNaiveForecast(history, 4, 6), ElementsAre(1, 2, 3, 4, 1, 2));
  // Step k = period is the last value; period 1 is persistence.
  EXPECT_EQ((*SeasonalNaiveForecast(history, 4, 4))[3], history.back());
  EXPECT_THAT(*SeasonalNaiveForecast(history, 1, 3), ElementsAre(4, 4, 4));
}

TEST(SeasonalNaiveTest, RefusesTooLittleHistory) {
  EXPECT_THAT(SeasonalNaiveForecast({1, 2}, 3, 1).status().message(), HasSubstr("(2 values)"));
  EXPECT_FALSE(SeasonalNaiveForecast({1, 2}, 0, 1).ok());
  EXPECT_FALSE(SeasonalNaiveForecast({1, 2}, 1, 0).ok());
}

TEST(DetectPeriodTest, FindsTwelveUnderATrendAndNoiseAndNoneInNoise) {
  Rng rng(3);
  std::vector<double> seasonal, noise;
  for (int t = 0; t < 240; ++t) {
    seasonal.push_back(0.5 * t + 10 * std::sin(2 * std::numbers::pi * t / 12) + rng.Uniform(-1, 1));
    noise.push_back(rng.Uniform(-1, 1));
  }
  EXPECT_EQ(*DetectPeriod(seasonal, {.max_period = 30}), 12);
  EXPECT_EQ(*DetectPeriod(noise, {.max_period = 30}), 1);
  // A straight line has constant differences: no season.
  std::vector<double> line;
  for (int t = 0; t < 50; ++t) line.push_back(2.0 * t);
  EXPECT_EQ(*DetectPeriod(line, {.max_period = 12}), 1);
}

TEST(DetectPeriodTest, RefusesAShortSeriesOrMaxPeriod) {
  EXPECT_THAT(DetectPeriod({1, 2, 3, 4}, {.max_period = 12}).status().message(),
              HasSubstr("max_period 12"));
  EXPECT_FALSE(DetectPeriod({1, 2, 3, 4, 5, 6}, {.max_period = 1}).ok());
}

}  // namespace
}  // namespace tg
