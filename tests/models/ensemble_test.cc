// AverageForecasts: mean, spread and range across members, and its refusals.
#include "models/ensemble.h"

#include <cmath>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace tg {
namespace {

using ::testing::DoubleEq;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(EnsembleTest, MeanSpreadAndRangeOfTheMembers) {
  absl::StatusOr<EnsembleForecast> e = AverageForecasts({{1, 10}, {3, 10}, {5, 13}});
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_THAT(e->mean, ElementsAre(3, 11));
  EXPECT_THAT(e->spread, ElementsAre(DoubleEq(std::sqrt(8.0 / 3)), DoubleEq(std::sqrt(2.0))));
  EXPECT_THAT(e->low, ElementsAre(1, 10));
  EXPECT_THAT(e->high, ElementsAre(5, 13));
}

TEST(EnsembleTest, OneMemberIsItselfWithNoSpread) {
  absl::StatusOr<EnsembleForecast> e = AverageForecasts({{2.5, -1}});
  ASSERT_TRUE(e.ok());
  EXPECT_THAT(e->mean, ElementsAre(2.5, -1));
  EXPECT_THAT(e->spread, ElementsAre(0, 0));
}

TEST(EnsembleTest, RefusesNoMembersAndUnequalLengths) {
  EXPECT_THAT(AverageForecasts({}).status().message(), HasSubstr("no member"));
  EXPECT_THAT(AverageForecasts({{1, 2}, {1, 2}, {3}}).status().message(),
              HasSubstr("member 2 has 1 values, member 0 2"));
}

}  // namespace
}  // namespace tg
