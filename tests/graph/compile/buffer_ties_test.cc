// Buffer ties: distances compose through a group, contradictions and overlaps are refused,
// external memory never moves, and Undo returns to the ties of a mark.
#include "graph/compile/buffer_ties.h"

#include "gtest/gtest.h"
#include "tests/graph/compile/hand_built.h"

namespace tg::compile {
namespace {

using testing::HandBuilt;

TEST(BufferTiesTest, TiesComposeThroughAGroup) {
  HandBuilt h;
  const BufferId a = h.Buffer(16), b = h.Buffer(16), c = h.Buffer(16);
  BufferTies ties(h.program);
  ASSERT_TRUE(ties.Tie(a, b, 16));
  ASSERT_TRUE(ties.Tie(b, c, 16));
  const auto [root_a, off_a] = ties.Find(a);
  const auto [root_c, off_c] = ties.Find(c);
  EXPECT_EQ(root_a, root_c);
  EXPECT_EQ(off_c - off_a, 32);
  EXPECT_TRUE(ties.Tie(a, c, 32));   // agrees with what is there
  EXPECT_FALSE(ties.Tie(a, c, 48));  // contradicts it
}

TEST(BufferTiesTest, RefusesOverlapsAndExternalMemory) {
  HandBuilt h;
  std::vector<std::byte> outside(16);
  const BufferId a = h.Buffer(16), b = h.Buffer(16), c = h.Buffer(16);
  const BufferId fixed = h.Buffer(16, Storage::kExternal, outside.data());
  BufferTies ties(h.program);
  ASSERT_TRUE(ties.Tie(a, b, 32));  // a gap of 16 bytes between a and b
  EXPECT_FALSE(ties.Tie(a, c, 8));  // c would overlap a
  EXPECT_FALSE(ties.Tie(b, c, -8));  // c would overlap b
  EXPECT_TRUE(ties.Tie(a, c, 16));  // the gap fits it exactly
  EXPECT_FALSE(ties.Tie(a, fixed, 48));
}

TEST(BufferTiesTest, UndoTakesBackEveryTieSinceTheMark) {
  HandBuilt h;
  const BufferId a = h.Buffer(16), b = h.Buffer(16), c = h.Buffer(16), d = h.Buffer(16);
  BufferTies ties(h.program);
  ASSERT_TRUE(ties.Tie(a, b, 16));
  const size_t mark = ties.Mark();
  ASSERT_TRUE(ties.Tie(b, c, 16));
  ASSERT_TRUE(ties.Tie(d, a, 16));  // d before a
  ties.Undo(mark);
  EXPECT_EQ(ties.Find(c).first, c);
  EXPECT_EQ(ties.Find(d).first, d);
  EXPECT_EQ(ties.Find(a).first, ties.Find(b).first);
  // The intervals c took are free again: c fits where it was refused before the undo.
  EXPECT_TRUE(ties.Tie(b, d, 16));
  EXPECT_TRUE(ties.Tie(d, c, 16));
}

TEST(BufferTiesTest, AChainOfTiesCostsNearLinearWork) {
  auto work = [](int n) {
    HandBuilt h;
    for (int i = 0; i < n; ++i) h.Buffer(64);
    BufferTies ties(h.program);
    for (int i = 0; i + 1 < n; ++i) EXPECT_TRUE(ties.Tie(i, i + 1, 64));
    return ties.work();
  };
  const int64_t small = work(100), large = work(1000);
  EXPECT_LE(static_cast<double>(large) / 1000, 1.5 * static_cast<double>(small) / 100);
}

}  // namespace
}  // namespace tg::compile
