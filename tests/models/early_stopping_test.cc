// EarlyStopping keeps the weights of the best validation score, restores them, counts
// patience, and ignores non-finite scores.
#include "models/early_stopping.h"

#include <cmath>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace tg {
namespace {

using ::testing::ElementsAre;

TEST(EarlyStoppingTest, RestoresTheWeightsOfTheBestScore) {
  ParameterStore store;
  ASSERT_TRUE(store.Add("w", {2}).ok());
  ASSERT_TRUE(store.Add("b", {1}, Init::Zeros(), DType::kF64).ok());
  EarlyStopping stopping;
  auto set = [&](double w0, double b) {
    ASSERT_TRUE(store.Set("w", std::vector<double>{w0, 1.5}).ok());
    ASSERT_TRUE(store.Set("b", std::vector<double>{b}).ok());
  };
  set(1, 0.25);
  EXPECT_TRUE(stopping.Observe(10, 0.5, store));
  set(2, 0.5);
  EXPECT_TRUE(stopping.Observe(20, 0.3, store));  // the best
  set(3, 0.75);
  EXPECT_FALSE(stopping.Observe(30, 0.4, store));
  EXPECT_EQ(stopping.best_step(), 20);
  EXPECT_DOUBLE_EQ(stopping.best_score(), 0.3);
  EXPECT_EQ(stopping.evaluations(), 3);
  ASSERT_TRUE(stopping.Restore(store).ok());
  EXPECT_THAT(*store.Get("w"), ElementsAre(2, 1.5));
  EXPECT_THAT(*store.Get("b"), ElementsAre(0.5));
}

TEST(EarlyStoppingTest, PatienceCountsEvaluationsWithoutANewBest) {
  ParameterStore store;
  ASSERT_TRUE(store.Add("w", {1}).ok());
  EarlyStopping stopping({.patience = 2, .min_delta = 0.01});
  stopping.Observe(1, 1.0, store);
  stopping.Observe(2, 0.995, store);  // not better by more than min_delta
  EXPECT_FALSE(stopping.ShouldStop());
  stopping.Observe(3, 0.9, store);  // a new best resets the count
  EXPECT_FALSE(stopping.ShouldStop());
  stopping.Observe(4, 0.95, store);
  stopping.Observe(5, 0.91, store);
  EXPECT_TRUE(stopping.ShouldStop());
  EXPECT_EQ(stopping.best_step(), 3);
  // No patience: never stops.
  EarlyStopping forever;
  for (int i = 0; i < 10; ++i) forever.Observe(i, 1.0, store);
  EXPECT_FALSE(forever.ShouldStop());
}

TEST(EarlyStoppingTest, NonFiniteScoresAreNeverTheBest) {
  ParameterStore store;
  ASSERT_TRUE(store.Add("w", {1}).ok());
  EarlyStopping stopping;
  EXPECT_FALSE(stopping.Observe(1, NAN, store));
  EXPECT_FALSE(stopping.Observe(2, INFINITY, store));
  EXPECT_EQ(stopping.best_step(), -1);
  EXPECT_EQ(stopping.Restore(store).code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(stopping.Observe(3, 2.0, store));
  EXPECT_FALSE(stopping.Observe(4, NAN, store));
  EXPECT_EQ(stopping.best_step(), 3);
}

TEST(EarlyStoppingTest, RestoringIntoOtherParametersFails) {
  ParameterStore store, other;
  ASSERT_TRUE(store.Add("w", {2}).ok());
  ASSERT_TRUE(other.Add("v", {2}).ok());
  EarlyStopping stopping;
  stopping.Observe(1, 0.5, store);
  EXPECT_EQ(stopping.Restore(other).code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace tg
