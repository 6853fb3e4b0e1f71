// Activation checkpointing on a hand-built program: two segments cut at two checkpoints, a
// backward that reads a value of each. Recompute makes each segment again, whole, just before
// the backward first reads one of its values, the backward reads the copies, and the regions
// that cut time batching are the same with and without recompute.
#include "graph/compile/recompute.h"

#include "gtest/gtest.h"
#include "tests/graph/compile/hand_built.h"

namespace tg::compile {
namespace {

using testing::HandBuilt;

struct TwoSegments {
  TwoSegments() {
    x = h.Fresh({4});
    a = h.Fresh({4});
    h1 = h.Fresh({4});
    b = h.Fresh({4});
    h2 = h.Fresh({4});
    y = h.Fresh({4});
    g1 = h.Fresh({4});
    g2 = h.Fresh({4});
    h.Apply("tanh", {x}, a);     // 0: segment 0
    h.Apply("exp", {a}, h1);     // 1: segment 0, a checkpoint
    h.Apply("tanh", {h1}, b);    // 2: segment 1
    h.Apply("exp", {b}, h2);     // 3: segment 1, a checkpoint
    h.Apply("tanh", {h2}, y);    // 4: after the last checkpoint
    h.Apply("mul", {b, b}, g1);  // 5: the backward, reading segment 1
    h.Apply("mul", {a, g1}, g2);  // 6: reading segment 0
    h.program.feeds = {x};
    h.program.outputs = {y, g2};
    h.program.checkpoints = {h1, h2};
    h.program.checkpoint_ends = {1, 3};
    h.program.backward_start = 5;
  }
  HandBuilt h;
  ValueId x, a, h1, b, h2, y, g1, g2;
};

TEST(RecomputeTest, MakesEachSegmentAgainBeforeTheBackwardFirstReadsIt) {
  TwoSegments t;
  RecomputeStats stats;
  const Program p = CutAtCheckpoints(t.h.program, /*recompute=*/true, &stats);
  EXPECT_EQ(stats.segments, 2);
  EXPECT_EQ(stats.recomputed, 2);
  EXPECT_EQ(stats.copies, 4);  // each segment whole: b and h2 again, then a and h1
  ASSERT_EQ(p.instructions.size(), 11u);
  // 0..4 the forward, then segment 1 again, the first backward step, segment 0 again, the
  // second.
  const Instruction &b_again = p.instructions[5], &h2_again = p.instructions[6];
  const Instruction &first = p.instructions[7], &a_again = p.instructions[8];
  const Instruction &h1_again = p.instructions[9], &second = p.instructions[10];
  EXPECT_EQ(h2_again.inputs[0], b_again.output);  // the copy reads the copy
  EXPECT_NE(h2_again.output, t.h2);
  EXPECT_EQ(h1_again.inputs[0], a_again.output);
  EXPECT_EQ(b_again.node, 2);
  EXPECT_EQ(b_again.inputs[0], t.h1);  // from the kept checkpoint
  EXPECT_NE(p.values[b_again.output].buffer, p.values[t.b].buffer);
  EXPECT_EQ(first.node, 5);
  EXPECT_EQ(first.inputs[0], b_again.output);
  EXPECT_EQ(first.inputs[1], b_again.output);
  EXPECT_EQ(a_again.node, 0);
  EXPECT_EQ(a_again.inputs[0], t.x);
  EXPECT_EQ(second.inputs[0], a_again.output);
  EXPECT_EQ(second.inputs[1], t.g1);
  // The forward still writes the originals.
  EXPECT_EQ(p.instructions[2].output, t.b);
  EXPECT_EQ(p.instructions[0].output, t.a);
}

TEST(RecomputeTest, RegionsAreTheSameWithoutRecompute) {
  TwoSegments t;
  const Program again = CutAtCheckpoints(t.h.program, true);
  const Program cut = CutAtCheckpoints(t.h.program, false);
  ASSERT_EQ(cut.instructions.size(), 7u);  // nothing added
  std::vector<int> regions;
  for (const Instruction& in : cut.instructions) regions.push_back(in.region);
  EXPECT_EQ(regions[0], regions[1]);  // segment 0
  EXPECT_EQ(regions[2], regions[3]);  // segment 1
  EXPECT_NE(regions[1], regions[2]);
  EXPECT_NE(regions[4], regions[3]);  // after the last checkpoint
  EXPECT_NE(regions[5], regions[6]);  // the backward, cut where segment 0 is needed again
  EXPECT_NE(regions[5], regions[4]);
  // The recomputed program's originals have the same regions, its copies those of the
  // backward steps they precede.
  for (const Instruction& in : again.instructions) {
    if (in.node < 5) continue;
    EXPECT_EQ(in.region, regions[in.node]) << "node " << in.node;
  }
  EXPECT_EQ(again.instructions[5].region, regions[5]);
  EXPECT_EQ(again.instructions[6].region, regions[5]);
  EXPECT_EQ(again.instructions[8].region, regions[6]);
}

TEST(RecomputeTest, AProgramWithoutCheckpointsIsUnchanged) {
  TwoSegments t;
  t.h.program.checkpoints.clear();
  t.h.program.checkpoint_ends.clear();
  RecomputeStats stats;
  const Program p = CutAtCheckpoints(t.h.program, true, &stats);
  EXPECT_EQ(p.instructions.size(), 7u);
  EXPECT_EQ(stats.segments, 0);
  for (const Instruction& in : p.instructions) EXPECT_EQ(in.region, 0);
}

}  // namespace
}  // namespace tg::compile
