// ChooseBlendWeights (greedy ensemble selection on validation targets): an exact candidate
// takes all the weight, a useless one none, two with opposite errors share it, the weights
// lie on the simplex; bad inputs are refused naming the candidate. BlendForecasts applies
// the weights.
#include "models/forecast_blend.h"

#include <cmath>
#include <limits>
#include <vector>

#include "base/random.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace tg {
namespace {

using ::testing::DoubleNear;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(ForecastBlendTest, AnExactCandidateTakesAllTheWeight) {
  Rng rng(11);
  std::vector<double> t, noisy, exact;
  for (int i = 0; i < 40; ++i) {
    t.push_back(rng.Uniform(-1, 1));
    exact.push_back(t.back());
    noisy.push_back(t.back() + rng.Uniform(-0.5, 0.5));
  }
  absl::StatusOr<BlendChoice> c = ChooseBlendWeights({noisy, exact}, t);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_THAT(c->weights, ElementsAre(0, 1));
  EXPECT_NEAR(c->mse, 0, 1e-20);  // twenty copies summed and divided: rounding only
  EXPECT_GT(c->candidate_mse[0], 0.01);
  EXPECT_EQ(c->candidate_mse[1], 0);
}

TEST(ForecastBlendTest, OppositeErrorsShareTheWeightAndAUselessCandidateGetsNone) {
  // a = t + e, b = t - e: their average is exact; c is far off and never helps.
  Rng rng(5);
  std::vector<double> t, a, b, c;
  for (int i = 0; i < 50; ++i) {
    t.push_back(rng.Uniform(-1, 1));
    const double e = rng.Uniform(0.2, 0.4);
    a.push_back(t.back() + e);
    b.push_back(t.back() - e);
    c.push_back(t.back() + 5);
  }
  absl::StatusOr<BlendChoice> choice = ChooseBlendWeights({a, b, c}, t, 20);
  ASSERT_TRUE(choice.ok()) << choice.status();
  EXPECT_THAT(choice->weights, ElementsAre(0.5, 0.5, 0));
  EXPECT_NEAR(choice->mse, 0, 1e-20);
  EXPECT_LT(choice->mse, std::min(choice->candidate_mse[0], choice->candidate_mse[1]));
  absl::StatusOr<std::vector<double>> blend = BlendForecasts({a, b, c}, choice->weights);
  ASSERT_TRUE(blend.ok());
  for (size_t i = 0; i < t.size(); ++i) EXPECT_THAT((*blend)[i], DoubleNear(t[i], 1e-12));
}

TEST(ForecastBlendTest, WeightsAreMultiplesOfOneRoundAndSumToOne) {
  // The best single mixture of a and b is 0.3 a + 0.7 b; 10 rounds reach it exactly.
  Rng rng(2);
  std::vector<double> a, b, t;
  for (int i = 0; i < 30; ++i) {
    a.push_back(rng.Uniform(-1, 1));
    b.push_back(rng.Uniform(-1, 1));
    t.push_back(0.3 * a.back() + 0.7 * b.back());
  }
  absl::StatusOr<BlendChoice> c = ChooseBlendWeights({a, b}, t, 10);
  ASSERT_TRUE(c.ok());
  EXPECT_THAT(c->weights, ElementsAre(DoubleNear(0.3, 1e-12), DoubleNear(0.7, 1e-12)));
  EXPECT_NEAR(c->mse, 0, 1e-20);
}

TEST(ForecastBlendTest, RefusesBadInputs) {
  EXPECT_THAT(ChooseBlendWeights({{1, 2}, {1}}, std::vector<double>{1, 2}).status().message(),
              HasSubstr("candidate 1 has 1 values against 2 targets"));
  EXPECT_FALSE(ChooseBlendWeights({}, std::vector<double>{1}).ok());
  EXPECT_THAT(ChooseBlendWeights({{1}}, std::vector<double>{1}, 0).status().message(),
              HasSubstr("rounds is 0"));
  const double nan = std::numeric_limits<double>::quiet_NaN();
  EXPECT_THAT(ChooseBlendWeights({{1, 2}, {1, nan}}, std::vector<double>{1, 2}).status().message(),
              HasSubstr("value 1 of candidate 1"));
  EXPECT_THAT(BlendForecasts({{1, 2}}, std::vector<double>{0.5, 0.5}).status().message(),
              HasSubstr("1 candidates and 2 weights"));
  EXPECT_THAT(BlendForecasts({{1, 2}, {3}}, std::vector<double>{0.5, 0.5}).status().message(),
              HasSubstr("candidate 1 has 1 values"));
}

}  // namespace
}  // namespace tg
