// Memory placement for parallel replay, on two independent chains built by hand (chain A, then
// chain B in program order): program-order placement lets B reuse A's dead values, which would
// make B wait for A; here a block goes only to a buffer all of whose instructions lie at higher
// levels than every instruction of its previous owners, so B's first steps get memory of their
// own while later ones still reuse A's.
#include "graph/compile/concurrent_placement.h"

#include <vector>

#include "graph/compile/lifetimes.h"
#include "graph/compile/memory_plan.h"
#include "gtest/gtest.h"
#include "tests/graph/compile/hand_built.h"

namespace tg::compile {
namespace {

using testing::HandBuilt;

constexpr int kLength = 6;
constexpr int64_t kBytes = 64 * 8;  // a [64] f64 value

// Two chains x -> a1 -> ... -> a6 and y -> b1 -> ... -> b6; the ends are outputs.
struct TwoChains {
  TwoChains() {
    for (std::vector<ValueId>* chain : {&a, &b}) {
      chain->push_back(h.Fresh({64}));
      h.program.feeds.push_back(chain->back());
      for (int i = 0; i < kLength; ++i) {
        chain->push_back(h.Fresh({64}));
        h.Apply("tanh", {(*chain)[i]}, (*chain)[i + 1]);
      }
      h.program.outputs.push_back(chain->back());
    }
  }
  BufferId Buffer(ValueId v) const { return h.program.values[v].buffer; }
  HandBuilt h;
  std::vector<ValueId> a, b;
};

TEST(InstructionLevelsTest, LongestChainLeadingToEachInstruction) {
  TwoChains c;
  EXPECT_EQ(InstructionLevels(c.h.program), (std::vector<int>{0, 1, 2, 3, 4, 5, 0, 1, 2, 3, 4, 5}));
}

// Buffers sharing bytes are apart in program order and in levels; memory is still shared.
TEST(PlaceMemoryConcurrentlyTest, SharesOnlyBetweenLevelsThatFollowEachOther) {
  TwoChains c;
  const Program& p = c.h.program;
  const std::vector<Lifetime> life = ComputeLifetimes(p);
  const Placement serial = PlaceMemory(p, life);
  const Placement placed = PlaceMemoryConcurrently(p, life);
  // Program order alone: B's first value takes memory A no longer needs.
  EXPECT_EQ(serial.offset[c.Buffer(c.b[1])], serial.offset[c.Buffer(c.a[1])]);
  // Per buffer, the levels of the instructions touching it.
  const std::vector<int> level = InstructionLevels(p);
  std::vector<int> low(p.buffers.size(), 1 << 20), high(p.buffers.size(), -1);
  for (size_t i = 0; i < p.instructions.size(); ++i) {
    for (ValueId v : {p.instructions[i].inputs[0], p.instructions[i].output}) {
      low[p.values[v].buffer] = std::min(low[p.values[v].buffer], level[i]);
      high[p.values[v].buffer] = std::max(high[p.values[v].buffer], level[i]);
    }
  }
  int shared = 0;
  for (size_t x = 0; x < p.buffers.size(); ++x) {
    for (size_t y = 0; y < x; ++y) {
      if (placed.offset[x] + kBytes <= placed.offset[y] ||
          placed.offset[y] + kBytes <= placed.offset[x]) {
        continue;
      }
      ++shared;
      const bool x_first = life[x].last < life[y].first && high[x] < low[y];
      const bool y_first = life[y].last < life[x].first && high[y] < low[x];
      EXPECT_TRUE(x_first || y_first) << "buffers " << x << " and " << y;
    }
  }
  EXPECT_GT(shared, 0);
  EXPECT_LT(placed.bytes, static_cast<int64_t>(p.buffers.size()) * kBytes);
  EXPECT_GE(placed.bytes, serial.bytes);
}

}  // namespace
}  // namespace tg::compile
