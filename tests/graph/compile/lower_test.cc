// Lowering: operands become offsets into a run's memory, a sum whose first touch covers its
// buffer becomes a write, a partial first touch gets a zeroing step, external memory may move
// into the private gradients, and constants keep their bytes.
#include "graph/compile/lower.h"

#include <cstring>

#include "gtest/gtest.h"
#include "tests/graph/compile/hand_built.h"

namespace tg::compile {
namespace {

using testing::HandBuilt;

Executable LowerAll(const Program& p, absl::Span<const Relocation> relocations = {}) {
  const std::vector<Lifetime> life = ComputeLifetimes(p);
  return Lower(p, life, PlaceMemory(p, life), relocations);
}

TEST(LowerTest, ASumWhoseFirstTouchCoversItsBufferBecomesAWrite) {
  HandBuilt h;
  const ValueId x = h.Fresh({4}), g = h.Fresh({4});
  h.Apply("tanh", {x}, g, {}, /*accumulate=*/true);
  h.Apply("exp", {x}, g, {}, /*accumulate=*/true);
  h.program.feeds = {x};
  h.program.outputs = {g};
  const Executable e = LowerAll(h.program);
  ASSERT_EQ(e.steps.size(), 2u);
  EXPECT_FALSE(e.steps[0].accumulate);
  EXPECT_TRUE(e.steps[1].accumulate);
  EXPECT_EQ(e.steps[0].output.space, Space::kArena);
  EXPECT_EQ(e.steps[0].output.offset, e.outputs[0].offset);
}

TEST(LowerTest, APartialFirstTouchOfASumIsZeroedFirst) {
  HandBuilt h;
  const BufferId buffer = h.Buffer(8 * 8);
  const ValueId x = h.Fresh({4}), low = h.At(buffer, {4}), high = h.At(buffer, {4}, 32);
  const ValueId whole = h.At(buffer, {8});
  h.Apply("tanh", {x}, low, {}, /*accumulate=*/true);
  h.Apply("exp", {x}, high, {}, /*accumulate=*/true);
  h.program.feeds = {x};
  h.program.outputs = {whole};
  const Executable e = LowerAll(h.program);
  ASSERT_EQ(e.steps.size(), 3u);
  EXPECT_TRUE(e.steps[0].zeroes());
  EXPECT_EQ(e.steps[0].output.bytes, 64);
  EXPECT_EQ(e.steps[0].output.offset, e.outputs[0].offset);
  EXPECT_TRUE(e.steps[1].accumulate);
}

TEST(LowerTest, ExternalMemoryMovesIntoThePrivateGradients) {
  HandBuilt h;
  std::vector<double> store(6);
  auto* base = reinterpret_cast<std::byte*>(store.data());
  const BufferId grad = h.Buffer(48, Storage::kExternal, base);
  const ValueId x = h.Fresh({3}), tail = h.At(grad, {3}, 24);
  h.Apply("tanh", {x}, tail, {}, /*accumulate=*/true);
  h.program.feeds = {x};
  const Executable fixed = LowerAll(h.program);
  EXPECT_EQ(fixed.steps[0].output.space, Space::kFixed);
  EXPECT_EQ(Bases{}.Address(fixed.steps[0].output), base + 24);
  const Relocation moved{.begin = base, .bytes = 48, .offset = 128};
  const Executable relocated = LowerAll(h.program, {&moved, 1});
  EXPECT_EQ(relocated.steps[0].output.space, Space::kGradients);
  EXPECT_EQ(relocated.steps[0].output.offset, 128 + 24);
  EXPECT_TRUE(relocated.steps[0].accumulate);  // external memory is never zeroed here
}

TEST(LowerTest, ConstantsKeepTheirBytes) {
  HandBuilt h;
  const std::vector<double> recorded = {1.5, -2, 3};
  const ValueId c = h.Fresh({3}), y = h.Fresh({3});
  h.Apply("tanh", {c}, y);
  h.program.constants = {{c, reinterpret_cast<const std::byte*>(recorded.data())}};
  h.program.outputs = {y};
  const Executable e = LowerAll(h.program);
  ASSERT_EQ(e.constants.size(), 1u);
  EXPECT_EQ(e.constants[0].offset, e.steps[0].inputs[0].offset);
  ASSERT_EQ(e.constants[0].bytes.size(), 24u);
  EXPECT_EQ(std::memcmp(e.constants[0].bytes.data(), recorded.data(), 24), 0);
}

}  // namespace
}  // namespace tg::compile
