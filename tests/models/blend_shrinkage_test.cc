// ChooseShrunkBlendWeights: a validation set too small for three folds cannot hand a lucky
// candidate more than the no-estimate share; a gain consistent across held-out folds takes
// the selected blend in full; a gain that one half of the folds shows and the other half
// reverses leaves the anchor alone; bad inputs are refused naming what is wrong.
#include "models/blend_shrinkage.h"

#include <cmath>
#include <functional>
#include <vector>

#include "base/random.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace tg {
namespace {

using ::testing::DoubleNear;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

// `windows` windows of `per` values: targets, and forecasts off by `error(window)`.
struct Windows {
  std::vector<double> targets;
  std::vector<std::vector<double>> candidates;
};

using Error = std::function<double(int64_t window, Rng& rng)>;

Windows MakeWindows(int64_t windows, int64_t per, uint64_t seed, const std::vector<Error>& errors) {
  Rng rng(seed);
  Windows w;
  for (int64_t i = 0; i < windows * per; ++i) w.targets.push_back(rng.Uniform(-1, 1));
  for (const Error& error : errors) {
    std::vector<double> c;
    for (int64_t i = 0; i < windows * per; ++i) c.push_back(w.targets[i] + error(i / per, rng));
    w.candidates.push_back(std::move(c));
  }
  return w;
}

TEST(BlendShrinkageTest, ATinyValidationSetGetsOnlyTheNoEstimateShare) {
  // 12 windows of 12 steps (one fold): the second candidate is exact on validation, the
  // anchor is off by 1 everywhere. Plain selection would give the second one everything.
  auto off = [](int64_t, Rng&) { return 1.0; };
  auto exact = [](int64_t, Rng&) { return 0.0; };
  Windows w = MakeWindows(12, 12, 3, {off, exact});
  const ShrunkBlendOptions options{.values_per_window = 12, .overlap = 11};
  absl::StatusOr<ShrunkBlendChoice> c =
      ChooseShrunkBlendWeights(w.candidates, w.targets, {1.0, 0.0}, options);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_THAT(c->selected, ElementsAre(0, 1));
  EXPECT_EQ(c->folds, 0);
  EXPECT_EQ(c->share, 0.5);
  EXPECT_THAT(c->weights, ElementsAre(0.5, 0.5));
  // With no share for the unestimated, the anchor alone.
  ShrunkBlendOptions cautious = options;
  cautious.no_estimate_share = 0;
  c = ChooseShrunkBlendWeights(w.candidates, w.targets, {1.0, 0.0}, cautious);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_THAT(c->weights, ElementsAre(1, 0));
}

TEST(BlendShrinkageTest, AGainConsistentAcrossFoldsTakesTheSelectedBlendInFull) {
  // 100 windows of 4 steps, windows 3 apart share no target: folds of 10 windows, 10 folds.
  // The second candidate's noise is a tenth of the anchor's on every fold.
  auto noisy = [](int64_t, Rng& rng) { return rng.Uniform(-1, 1); };
  auto good = [](int64_t, Rng& rng) { return 0.1 * rng.Uniform(-1, 1); };
  Windows w = MakeWindows(100, 4, 7, {noisy, good});
  absl::StatusOr<ShrunkBlendChoice> c = ChooseShrunkBlendWeights(
      w.candidates, w.targets, {1.0, 0.0}, {.values_per_window = 4, .overlap = 3});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->folds, 10);
  EXPECT_GT(c->gain, 2 * c->gain_se);
  EXPECT_EQ(c->share, 1);
  EXPECT_EQ(c->weights, c->selected);
  EXPECT_GE(c->weights[1], 0.95);
}

TEST(BlendShrinkageTest, AGainThatHalfTheFoldsReverseLeavesTheAnchor) {
  // The second candidate is off by 0.3 on the odd folds and by 1.35 on the even ones, the
  // anchor by 1 everywhere: over all windows the second is a little better (MSE 0.956 against
  // 1) and plain selection weighs it, but held out, half the folds lose what the other
  // half gain.
  auto anchor = [](int64_t, Rng&) { return 1.0; };
  auto erratic = [](int64_t window, Rng&) { return (window / 10) % 2 == 1 ? 0.3 : 1.35; };
  Windows w = MakeWindows(100, 4, 9, {anchor, erratic});
  absl::StatusOr<ShrunkBlendChoice> c = ChooseShrunkBlendWeights(
      w.candidates, w.targets, {1.0, 0.0}, {.values_per_window = 4, .overlap = 3});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_GT(c->selected[1], 0.5);
  EXPECT_EQ(c->folds, 10);
  EXPECT_LT(c->gain, c->gain_se);
  EXPECT_EQ(c->share, 0);
  EXPECT_THAT(c->weights, ElementsAre(1, 0));
  EXPECT_THAT(c->mse, DoubleNear(1, 1e-12));
}

TEST(BlendShrinkageTest, RefusesBadInputs) {
  const std::vector<std::vector<double>> two = {{1, 2, 3, 4}, {2, 3, 4, 5}};
  const std::vector<double> targets = {1, 2, 3, 4};
  EXPECT_THAT(ChooseShrunkBlendWeights(two, targets, {1.0}).status().message(),
              HasSubstr("1 anchor weights for 2 candidates"));
  EXPECT_THAT(ChooseShrunkBlendWeights(two, targets, {0.5, 0.6}).status().message(),
              HasSubstr("sum to 1.1"));
  EXPECT_THAT(ChooseShrunkBlendWeights(two, targets, {1.5, -0.5}).status().message(),
              HasSubstr("anchor weight 1 is -0.5"));
  EXPECT_THAT(ChooseShrunkBlendWeights(two, targets, {1.0, 0.0}, {.values_per_window = 3})
                  .status()
                  .message(),
              HasSubstr("4 targets are not whole windows of 3 values"));
  EXPECT_THAT(ChooseShrunkBlendWeights(two, targets, {1.0, 0.0}, {.min_folds = 1})
                  .status()
                  .message(),
              HasSubstr("min_folds 1"));
  EXPECT_THAT(ChooseShrunkBlendWeights({{1, 2, 3}, {2, 3, 4, 5}}, targets, {1.0, 0.0})
                  .status()
                  .message(),
              HasSubstr("candidate 0 has 3 values against 4 targets"));
}

}  // namespace
}  // namespace tg
