// Passes sink to their readers (graph/compile/sink_passes.h): a pass listed before an
// unrelated product moves to just before the first instruction that must follow it, with
// what it feeds; sums, instructions whose next dependent follows at once, and moves the
// dependencies forbid stay.
#include "graph/compile/sink_passes.h"

#include <vector>

#include "gtest/gtest.h"
#include "tests/graph/compile/hand_built.h"

namespace tg::compile {
namespace {

using testing::HandBuilt;

// The node each instruction came from, in program order.
std::vector<NodeId> Nodes(const Program& p) {
  std::vector<NodeId> nodes;
  for (const Instruction& in : p.instructions) nodes.push_back(in.node);
  return nodes;
}

// A step as the program lists it: x + b and a tanh of it (the input side), then h W^T (the
// recurrent product), then the gate reading both.
struct Step {
  explicit Step(bool accumulate = false) {
    const ValueId x = h.Fresh({2, 3}), b = h.Fresh({3}), hid = h.Fresh({2, 4});
    const ValueId w = h.Fresh({3, 4}), xb = h.Fresh({2, 3}), t = h.Fresh({2, 3});
    const ValueId hw = h.Fresh({2, 3}), gate = h.Fresh({2, 3});
    add = h.Apply("add", {x, b}, xb);
    tanh = h.Apply("tanh", {xb}, t, {}, accumulate);
    product = h.Apply("matmul", {hid, w}, hw, testing::MatMulFlags(false, true));
    reader = h.Apply("add", {t, hw}, gate);
    h.program.feeds = {x, b, hid, w};
    h.program.outputs = {gate};
  }
  HandBuilt h;
  int add = -1, tanh = -1, product = -1, reader = -1;
};

TEST(SinkPassesTest, APassMovesPastAnUnrelatedProductToItsReader) {
  Step s;
  int64_t moved = -1;
  const Program p = SinkPasses(s.h.program, &moved);
  EXPECT_EQ(moved, 2);
  EXPECT_EQ(Nodes(p), (std::vector<NodeId>{s.product, s.add, s.tanh, s.reader}));
  EXPECT_EQ(Nodes(s.h.program), (std::vector<NodeId>{s.add, s.tanh, s.product, s.reader}));
}

TEST(SinkPassesTest, SumsStayAndWhatTheyFeedStaysBeforeThem) {
  Step s(/*accumulate=*/true);
  int64_t moved = -1;
  const Program p = SinkPasses(s.h.program, &moved);
  EXPECT_EQ(moved, 0);  // the add's first dependent, the sum, follows it at once
  EXPECT_EQ(Nodes(p), Nodes(s.h.program));
}

TEST(SinkPassesTest, AWriteOfItsInputInBetweenKeepsItInPlace) {
  HandBuilt h;
  const ValueId x = h.Fresh({4}), y = h.Fresh({4}), w = h.Fresh({4}), z = h.Fresh({4});
  const int pass = h.Apply("tanh", {x}, y);
  const int overwrite = h.Apply("exp", {w}, x);  // writes the pass's input
  const int reader = h.Apply("add", {y, x}, z);
  h.program.feeds = {w};
  h.program.outputs = {z};
  int64_t moved = -1;
  const Program p = SinkPasses(h.program, &moved);
  EXPECT_EQ(moved, 0);
  EXPECT_EQ(Nodes(p), (std::vector<NodeId>{pass, overwrite, reader}));
}

}  // namespace
}  // namespace tg::compile
