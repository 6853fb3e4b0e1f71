// The schedule of a lowered program, on steps built by hand: which steps wait for which
// comes from the bytes they read and write (read after write, write after read, write after
// write), sums into the same bytes keep program order, and steps over disjoint bytes, or over
// equal offsets of different spaces, do not wait for each other.
#include "graph/compile/schedule.h"

#include <vector>

#include "gtest/gtest.h"
#include "tests/graph/compile/hand_built.h"

namespace tg::compile {
namespace {

using testing::Op;

// f32 bytes [offset, offset + bytes) of `space`.
Operand Bytes(int64_t offset, int64_t bytes, Space space = Space::kArena) {
  return {.offset = offset, .bytes = bytes, .shape = 0, .space = space, .dtype = DType::kF32};
}

// A step applying `op` to `inputs` into `output`.
Step Apply(const char* op, std::vector<Operand> inputs, Operand output, bool accumulate = false) {
  Step s;
  s.op = Op(op);
  s.inputs.assign(inputs.begin(), inputs.end());
  s.output = output;
  s.accumulate = accumulate;
  return s;
}

// A zeroing of `output`.
Step Zero(Operand output) {
  Step s;
  s.output = output;
  return s;
}

std::vector<int32_t> After(const Schedule& s, int k) {
  return {s.after(k).begin(), s.after(k).end()};
}

TEST(ScheduleTest, ReadAfterWrite) {
  const Schedule s = BuildSchedule({Apply("tanh", {Bytes(0, 64)}, Bytes(64, 64)),
                                    Apply("tanh", {Bytes(64, 64)}, Bytes(128, 64))});
  EXPECT_EQ(s.predecessors, (std::vector<int32_t>{0, 1}));
  EXPECT_EQ(After(s, 0), (std::vector<int32_t>{1}));
  EXPECT_EQ(s.chain, (std::vector<int32_t>{2, 1}));
}

TEST(ScheduleTest, WriteAfterReadAndWriteAfterWrite) {
  // 1 overwrites what 0 read; 2 overwrites what 0 wrote; 3 touches neither.
  const Schedule s = BuildSchedule({Apply("tanh", {Bytes(0, 64)}, Bytes(64, 64)),
                                    Apply("exp", {Bytes(256, 64)}, Bytes(0, 64)),
                                    Apply("exp", {Bytes(320, 64)}, Bytes(64, 64)),
                                    Apply("exp", {Bytes(320, 64)}, Bytes(512, 64))});
  EXPECT_EQ(s.predecessors, (std::vector<int32_t>{0, 1, 1, 0}));
  EXPECT_EQ(After(s, 0), (std::vector<int32_t>{1, 2}));
  EXPECT_TRUE(After(s, 1).empty());
  EXPECT_TRUE(After(s, 3).empty());
}

// Two readers of the same bytes, and two writers of disjoint parts of one buffer, are free.
TEST(ScheduleTest, SharedReadsAndDisjointBytesAreIndependent) {
  const Schedule s = BuildSchedule({Apply("tanh", {Bytes(0, 128)}, Bytes(128, 64)),
                                    Apply("exp", {Bytes(0, 128)}, Bytes(192, 64)),
                                    Apply("exp", {Bytes(0, 64)}, Bytes(256, 32)),
                                    Apply("exp", {Bytes(64, 64)}, Bytes(288, 32))});
  EXPECT_EQ(s.predecessors, (std::vector<int32_t>{0, 0, 0, 0}));
}

// A part of a written range orders its reader; the rest of the range does not.
TEST(ScheduleTest, PartialOverlapOrders) {
  const Schedule s = BuildSchedule({Apply("tanh", {Bytes(512, 128)}, Bytes(0, 128)),
                                    Apply("exp", {Bytes(96, 16)}, Bytes(256, 16)),
                                    Apply("exp", {Bytes(128, 16)}, Bytes(300, 16))});
  EXPECT_EQ(s.predecessors, (std::vector<int32_t>{0, 1, 0}));
}

// Sums into one buffer keep program order (floating-point addition does not commute in
// its bits), after the zeroing that starts them and before the step that reads the total.
TEST(ScheduleTest, AccumulationsKeepProgramOrder) {
  const Operand grad = Bytes(1024, 64);
  const Schedule s = BuildSchedule({Zero(grad),
                                    Apply("tanh", {Bytes(0, 64)}, grad, true),
                                    Apply("exp", {Bytes(64, 64)}, grad, true),
                                    Apply("exp", {Bytes(128, 64)}, grad, true),
                                    Apply("tanh", {grad}, Bytes(2048, 64))});
  EXPECT_EQ(s.predecessors, (std::vector<int32_t>{0, 1, 1, 1, 1}));
  for (int k = 0; k < 4; ++k) EXPECT_EQ(After(s, k), (std::vector<int32_t>{k + 1})) << k;
  EXPECT_EQ(s.chain[0], 5);
}

// Offsets are per space: the run's memory, its private gradients, fixed addresses.
TEST(ScheduleTest, SpacesAreSeparate) {
  const Schedule s =
      BuildSchedule({Apply("tanh", {Bytes(4096, 64)}, Bytes(0, 64, Space::kArena)),
                     Apply("tanh", {Bytes(4096, 64)}, Bytes(0, 64, Space::kGradients), true),
                     Apply("tanh", {Bytes(4096, 64)}, Bytes(0, 64, Space::kFixed), true),
                     Apply("exp", {Bytes(0, 64, Space::kGradients)}, Bytes(128, 64))});
  EXPECT_EQ(s.predecessors, (std::vector<int32_t>{0, 0, 0, 1}));
  EXPECT_EQ(After(s, 1), (std::vector<int32_t>{3}));
}

// A fused run reads its members' inputs and writes each member's output.
TEST(ScheduleTest, AFusedRunTouchesEveryMembersBytes) {
  Step fused;
  fused.fused = {Apply("tanh", {Bytes(0, 64)}, Bytes(64, 64)),
                 Apply("exp", {Bytes(64, 64)}, Bytes(128, 64))};
  fused.output = fused.fused[0].output;
  const Schedule s = BuildSchedule({Apply("exp", {Bytes(512, 64)}, Bytes(0, 64)), fused,
                                    Apply("tanh", {Bytes(64, 64)}, Bytes(256, 64)),
                                    Apply("tanh", {Bytes(128, 64)}, Bytes(320, 64))});
  EXPECT_EQ(s.predecessors, (std::vector<int32_t>{0, 1, 1, 1}));
  EXPECT_EQ(After(s, 1), (std::vector<int32_t>{2, 3}));
}

// The chain lengths rank the longer of two independent paths first; Reaches follows edges
// through other steps.
TEST(ScheduleTest, ChainsAndReach) {
  // 0 -> 2 -> 4 and 1 -> 3; nothing joins them.
  const Schedule s = BuildSchedule({Apply("tanh", {Bytes(0, 64)}, Bytes(64, 64)),
                                    Apply("tanh", {Bytes(1024, 64)}, Bytes(1088, 64)),
                                    Apply("tanh", {Bytes(64, 64)}, Bytes(128, 64)),
                                    Apply("tanh", {Bytes(1088, 64)}, Bytes(1152, 64)),
                                    Apply("tanh", {Bytes(128, 64)}, Bytes(192, 64))});
  EXPECT_EQ(s.chain, (std::vector<int32_t>{3, 2, 2, 1, 1}));
  EXPECT_TRUE(s.Reaches(0, 4));
  EXPECT_FALSE(s.Reaches(0, 3));
  EXPECT_FALSE(s.Reaches(1, 4));
  EXPECT_FALSE(s.Reaches(4, 0));
}

}  // namespace
}  // namespace tg::compile
