// Lifetimes and memory placement: first and last touches, pinned host values, sums; buffers
// whose lifetimes do not overlap share memory, those that do never overlap, and external or
// untouched buffers get none.
#include "graph/compile/memory_plan.h"

#include "gtest/gtest.h"
#include "graph/compile/lifetimes.h"
#include "tests/graph/compile/hand_built.h"

namespace tg::compile {
namespace {

using testing::HandBuilt;

TEST(LifetimesTest, FirstAndLastTouchPinsAndSums) {
  HandBuilt h;
  const ValueId x = h.Fresh({4}), a = h.Fresh({4}), b = h.Fresh({4}), never = h.Fresh({4});
  h.Apply("tanh", {x}, a);                       // 0
  h.Apply("exp", {a}, b);                        // 1
  h.Apply("tanh", {x}, b, {}, /*accumulate=*/true);  // 2
  h.program.feeds = {x};
  h.program.outputs = {b};
  const std::vector<Lifetime> life = ComputeLifetimes(h.program);
  const Lifetime &lx = life[h.program.values[x].buffer], &la = life[h.program.values[a].buffer],
                 &lb = life[h.program.values[b].buffer], &ln = life[h.program.values[never].buffer];
  EXPECT_TRUE(lx.pinned);
  EXPECT_EQ(la.first, 0);
  EXPECT_EQ(la.last, 1);
  EXPECT_FALSE(la.pinned);
  EXPECT_FALSE(la.accumulated);
  EXPECT_EQ(lb.first, 1);
  EXPECT_EQ(lb.last, 2);
  EXPECT_TRUE(lb.pinned && lb.accumulated);
  EXPECT_FALSE(ln.live());
}

// A chain x -> a -> b -> c -> d: a dies when b is made, so c can take a's memory.
TEST(PlaceMemoryTest, BuffersWhoseLifetimesDoNotOverlapShareMemory) {
  HandBuilt h;
  std::vector<ValueId> v = {h.Fresh({64})};
  for (int i = 0; i < 4; ++i) {
    v.push_back(h.Fresh({64}));
    h.Apply("tanh", {v[i]}, v[i + 1]);
  }
  h.program.feeds = {v[0]};
  h.program.outputs = {v[4]};
  const std::vector<Lifetime> life = ComputeLifetimes(h.program);
  const Placement placed = PlaceMemory(h.program, life);
  constexpr int64_t kBytes = 64 * 8;
  EXPECT_LT(placed.bytes, 5 * kBytes);
  EXPECT_GE(placed.bytes, 3 * kBytes);  // x and d live throughout, and one more at a time
  for (size_t b = 0; b < h.program.buffers.size(); ++b) {
    EXPECT_EQ(placed.offset[b] % 64, 0);
    for (size_t c = 0; c < b; ++c) {
      const bool live_together = life[b].pinned || life[c].pinned ||
                                 (life[b].first <= life[c].last && life[c].first <= life[b].last);
      const bool apart = placed.offset[b] + kBytes <= placed.offset[c] ||
                         placed.offset[c] + kBytes <= placed.offset[b];
      EXPECT_TRUE(apart || !live_together) << "buffers " << b << " and " << c;
    }
  }
}

TEST(PlaceMemoryTest, ExternalAndUntouchedBuffersGetNoMemory) {
  HandBuilt h;
  std::vector<double> outside(4);
  const ValueId x = h.Fresh({4}), unused = h.Fresh({4});
  const ValueId grad = h.At(h.Buffer(32, Storage::kExternal,
                                     reinterpret_cast<std::byte*>(outside.data())), {4});
  h.Apply("tanh", {x}, grad);
  h.program.feeds = {x};
  const Placement placed = PlaceMemory(h.program, ComputeLifetimes(h.program));
  EXPECT_EQ(placed.offset[h.program.values[grad].buffer], -1);
  EXPECT_EQ(placed.offset[h.program.values[unused].buffer], -1);
  EXPECT_EQ(placed.offset[h.program.values[x].buffer], 0);
  EXPECT_EQ(placed.bytes, 64);
}

}  // namespace
}  // namespace tg::compile
