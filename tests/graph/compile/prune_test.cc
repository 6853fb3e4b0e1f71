// Pruning keeps what an output or a parameter gradient needs, and nothing else.
#include "graph/compile/prune.h"

#include "gtest/gtest.h"
#include "tests/graph/compile/hand_built.h"

namespace tg::compile {
namespace {

using testing::HandBuilt;

TEST(PruneTest, KeepsOutputsAndExternalWritesAndWhatTheyNeed) {
  HandBuilt h;
  std::vector<double> gradient(3);
  const ValueId x = h.Fresh({3}), a = h.Fresh({3}), b = h.Fresh({3}), unused = h.Fresh({3});
  const ValueId grad = h.At(h.Buffer(24, Storage::kExternal,
                                     reinterpret_cast<std::byte*>(gradient.data())),
                            {3});
  h.Apply("tanh", {x}, a);        // 0: b needs it
  h.Apply("exp", {a}, b);         // 1: the output
  h.Apply("tanh", {x}, unused);   // 2: nothing reads it
  h.Apply("mul", {x, x}, grad);   // 3: memory outside the program
  h.program.feeds = {x};
  h.program.outputs = {b};
  const Program pruned = Prune(h.program);
  ASSERT_EQ(pruned.instructions.size(), 3u);
  EXPECT_EQ(pruned.instructions[0].node, 0);
  EXPECT_EQ(pruned.instructions[1].node, 1);
  EXPECT_EQ(pruned.instructions[2].node, 3);
  EXPECT_EQ(pruned.values.size(), h.program.values.size());  // ids stay valid
}

TEST(PruneTest, KeepsAWriteThatAnOutputViewCovers) {
  HandBuilt h;
  const BufferId buffer = h.Buffer(2 * 3 * 8);
  const ValueId x = h.Fresh({3}), head = h.At(buffer, {3}), tail = h.At(buffer, {3}, 24);
  h.Apply("tanh", {x}, head);  // nobody asked for the head
  h.Apply("exp", {x}, tail);   // the tail is the output
  h.program.outputs = {tail};
  const Program pruned = Prune(h.program);
  ASSERT_EQ(pruned.instructions.size(), 1u);
  EXPECT_EQ(pruned.instructions[0].node, 1);
}

}  // namespace
}  // namespace tg::compile
