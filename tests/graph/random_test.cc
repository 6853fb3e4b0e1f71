// Rng's saved position: a stream continued from SaveState() draws what the original draws.
#include "base/random.h"

#include <cstdint>
#include <vector>

#include "gtest/gtest.h"

namespace tg {
namespace {

TEST(RngTest, RestoredStateContinuesTheStream) {
  Rng original(42);
  for (int i = 0; i < 1000; ++i) original.NextBits();  // past one 312-word refill
  const std::string saved = original.SaveState();
  std::vector<uint64_t> want;
  for (int i = 0; i < 400; ++i) want.push_back(original.NextBits());

  Rng restored(7);
  ASSERT_TRUE(restored.RestoreState(saved));
  std::vector<uint64_t> got;
  for (int i = 0; i < 400; ++i) got.push_back(restored.NextBits());
  EXPECT_EQ(got, want);
}

TEST(RngTest, RefusesTextThatIsNotAState) {
  Rng rng(3), same(3);
  EXPECT_FALSE(rng.RestoreState(""));
  EXPECT_FALSE(rng.RestoreState("1 2 3"));
  EXPECT_FALSE(rng.RestoreState(Rng(5).SaveState() + " 9"));
  EXPECT_EQ(rng.NextBits(), same.NextBits());  // unchanged by the refusals
}

}  // namespace
}  // namespace tg
