// Dependencies from one scan: reads after writes, writes after reads and writes, sums that
// commute, disjoint views that do not touch, and work that grows with the accesses, not
// with their pairs.
#include "graph/compile/dependencies.h"

#include <algorithm>

#include "gtest/gtest.h"
#include "tests/graph/compile/hand_built.h"

namespace tg::compile {
namespace {

using testing::HandBuilt;

bool Has(absl::Span<const int> list, int i) {
  return std::find(list.begin(), list.end(), i) != list.end();
}

TEST(DependenciesTest, OrdersReadsAfterWritesAndWritesAfterReadsAndWrites) {
  HandBuilt h;
  const ValueId x = h.Fresh({4}), a = h.Fresh({4}), b = h.Fresh({4});
  const int write_a = h.Apply("tanh", {x}, a);
  const int read_a = h.Apply("tanh", {a}, b);
  const int rewrite_a = h.Apply("exp", {x}, a);
  const Dependencies deps(h.program);
  EXPECT_TRUE(Has(deps.before(read_a), write_a));     // read after write
  EXPECT_TRUE(Has(deps.before(rewrite_a), read_a));   // write after read
  EXPECT_TRUE(Has(deps.before(rewrite_a), write_a));  // write after write
  EXPECT_TRUE(deps.before(write_a).empty());
  EXPECT_TRUE(Has(deps.after(write_a), read_a));
}

TEST(DependenciesTest, SumsIntoTheSameBytesDoNotOrderEachOther) {
  HandBuilt h;
  const ValueId x = h.Fresh({3}), g = h.Fresh({3}), y = h.Fresh({3});
  const int first = h.Apply("tanh", {x}, g);
  const int sum1 = h.Apply("exp", {x}, g, {}, /*accumulate=*/true);
  const int sum2 = h.Apply("tanh", {x}, g, {}, /*accumulate=*/true);
  const int read = h.Apply("exp", {g}, y);
  const Dependencies deps(h.program);
  EXPECT_TRUE(Has(deps.before(sum1), first));
  EXPECT_TRUE(Has(deps.before(sum2), first));
  EXPECT_FALSE(Has(deps.before(sum2), sum1));
  EXPECT_FALSE(Has(deps.after(sum1), sum2));
  EXPECT_TRUE(Has(deps.before(read), sum1));
  EXPECT_TRUE(Has(deps.before(read), sum2));
}

TEST(DependenciesTest, DisjointViewsOfOneBufferAreIndependentAndTheWholeFollowsBoth) {
  HandBuilt h;
  const BufferId buffer = h.Buffer(2 * 4 * 8);
  const ValueId low = h.At(buffer, {4}), high = h.At(buffer, {4}, 32);
  const ValueId whole = h.At(buffer, {8}), x = h.Fresh({4}), y = h.Fresh({8});
  const int write_low = h.Apply("tanh", {x}, low);
  const int write_high = h.Apply("exp", {x}, high);
  const int read_whole = h.Apply("tanh", {whole}, y);
  const Dependencies deps(h.program);
  EXPECT_FALSE(Has(deps.before(write_high), write_low));
  EXPECT_TRUE(Has(deps.before(read_whole), write_low));
  EXPECT_TRUE(Has(deps.before(read_whole), write_high));
}

// A weight read by every step and its gradient summed into by every step: the old all-pairs
// scan compared every pair of the 3T accesses; this one's work per step stays flat.
int64_t WorkForSteps(int steps) {
  HandBuilt h;
  const ValueId w = h.Fresh({2, 2}), dw = h.Fresh({2, 2});
  ValueId state = h.Fresh({1, 2});
  for (int t = 0; t < steps; ++t) {
    const ValueId next = h.Fresh({1, 2});
    h.Apply("matmul", {state, w}, next, testing::MatMulFlags(false, false));
    h.Apply("matmul", {state, next}, dw, testing::MatMulFlags(true, false), t > 0);
    state = next;
  }
  return Dependencies(h.program).work();
}

TEST(DependenciesTest, WorkPerStepStaysFlatAsTheSequenceGrows) {
  const int64_t short_run = WorkForSteps(50), long_run = WorkForSteps(500);
  EXPECT_LE(static_cast<double>(long_run) / 500, 1.5 * static_cast<double>(short_run) / 50)
      << short_run << " vs " << long_run;
}

}  // namespace
}  // namespace tg::compile
