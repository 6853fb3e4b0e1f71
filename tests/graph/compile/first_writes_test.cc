// First sums become writes (graph/compile/first_writes.h): a buffer whose sums all land on
// bytes written before, or on bytes nothing touched yet, is not zeroed, and a sum into
// untouched bytes writes; anything else keeps the zeroing. Whole cells compiled with and
// without it give the same loss and gradients, with no zeroing step left.
#include "graph/compile/first_writes.h"

#include <cmath>
#include <string>
#include <vector>

#include "autodiff/backward.h"
#include "graph/compile/compiled_graph.h"
#include "graph/compile/lifetimes.h"
#include "graph/compile/lower.h"
#include "graph/compile/memory_plan.h"
#include "gtest/gtest.h"
#include "models/stack.h"
#include "models/unroll.h"
#include "ops/ops.h"
#include "testing/test_values.h"
#include "tests/graph/compile/hand_built.h"

namespace tg::compile {
namespace {

using testing::HandBuilt;

int ZeroSteps(const Executable& e) {
  int n = 0;
  for (const Step& s : e.steps) n += s.zeroes() ? 1 : 0;
  return n;
}

Executable LowerAll(const Program& p) {
  const std::vector<Lifetime> life = ComputeLifetimes(p);
  return Lower(p, life, PlaceMemory(p, life), {});
}

// Two steps' gradients summed into their rows of one stacked buffer (8 doubles, 4 per step),
// each step's first contribution a sum into untouched rows, its second a sum onto them; then
// a stacked product reads all of it.
struct StackedSums {
  StackedSums() {
    const ValueId x = h.Fresh({4});
    stacked = h.Buffer(8 * 8);
    const ValueId row0 = h.At(stacked, {4}), row1 = h.At(stacked, {4}, 32);
    first0 = h.Apply("tanh", {x}, row0, {}, /*accumulate=*/true);
    h.Apply("exp", {x}, row0, {}, /*accumulate=*/true);
    first1 = h.Apply("tanh", {x}, row1, {}, /*accumulate=*/true);
    h.Apply("exp", {x}, row1, {}, /*accumulate=*/true);
    out = h.Fresh({8});
    h.Apply("tanh", {h.At(stacked, {8})}, out);
    h.program.feeds = {x};
    h.program.outputs = {out};
  }
  HandBuilt h;
  BufferId stacked = -1;
  ValueId out = -1;
  int first0 = -1, first1 = -1;
};

TEST(FirstWritesTest, FirstSumsIntoUntouchedRowsWriteAndTheBufferIsNotZeroed) {
  StackedSums s;
  const SumStarts starts = FindSumStarts(s.h.program);
  EXPECT_TRUE(starts.clean[s.stacked]);
  EXPECT_TRUE(starts.fresh[s.stacked]);
  int64_t converted = 0;
  const Program p = WriteFirstSums(s.h.program, &converted);
  EXPECT_EQ(converted, 2);
  for (int k = 0; k < static_cast<int>(p.instructions.size()); ++k) {
    const bool first = k == s.first0 || k == s.first1;
    EXPECT_EQ(p.instructions[k].accumulate, k < 4 && !first) << "instruction " << k;
  }
  const std::vector<Lifetime> life = ComputeLifetimes(p);
  EXPECT_TRUE(life[s.stacked].accumulated);
  EXPECT_FALSE(life[s.stacked].zero_first);
  EXPECT_EQ(ZeroSteps(LowerAll(p)), 0);
  // Without the pass the same buffer starts from zero, as before.
  EXPECT_TRUE(ComputeLifetimes(s.h.program)[s.stacked].zero_first);
  EXPECT_EQ(ZeroSteps(LowerAll(s.h.program)), 1);
  EXPECT_TRUE(ComputeLifetimes(p, /*written_first=*/false)[s.stacked].zero_first);
}

TEST(FirstWritesTest, SumsOntoWrittenBytesNeedNoZeroing) {
  HandBuilt h;
  const ValueId x = h.Fresh({4});
  const BufferId buffer = h.Buffer(8 * 8);
  const ValueId low = h.At(buffer, {4}), high = h.At(buffer, {4}, 32);
  h.Apply("tanh", {x}, low);
  h.Apply("exp", {x}, low, {}, /*accumulate=*/true);
  h.Apply("tanh", {x}, high);
  h.Apply("exp", {x}, high, {}, /*accumulate=*/true);
  const ValueId out = h.Fresh({8});
  h.Apply("tanh", {h.At(buffer, {8})}, out);
  h.program.feeds = {x};
  h.program.outputs = {out};
  int64_t converted = -1;
  const Program p = WriteFirstSums(h.program, &converted);
  EXPECT_EQ(converted, 0);
  const std::vector<Lifetime> life = ComputeLifetimes(p);
  EXPECT_TRUE(life[buffer].accumulated);
  EXPECT_FALSE(life[buffer].zero_first);
  const Executable e = LowerAll(p);
  EXPECT_EQ(ZeroSteps(e), 0);
  EXPECT_TRUE(e.steps[1].accumulate);
}

TEST(FirstWritesTest, AReadOfUntouchedBytesKeepsTheZeroing) {
  StackedSums s;
  // A read of row 1 before anything touched it: it reads the zeros.
  const ValueId early = s.h.Fresh({4});
  Instruction read = s.h.program.instructions.back();
  read.inputs = {s.h.At(s.stacked, {4}, 32)};
  read.output = early;
  s.h.program.instructions.insert(s.h.program.instructions.begin() + 1, read);
  s.h.program.outputs.push_back(early);
  const SumStarts starts = FindSumStarts(s.h.program);
  EXPECT_FALSE(starts.clean[s.stacked]);
  int64_t converted = -1;
  const Program p = WriteFirstSums(s.h.program, &converted);
  EXPECT_EQ(converted, 0);
  EXPECT_TRUE(ComputeLifetimes(p)[s.stacked].zero_first);
  EXPECT_EQ(ZeroSteps(LowerAll(p)), 1);
}

TEST(FirstWritesTest, ASumPartlyOntoWrittenBytesKeepsTheZeroing) {
  HandBuilt h;
  const ValueId x = h.Fresh({4});
  const BufferId buffer = h.Buffer(8 * 8);
  h.Apply("tanh", {x}, h.At(buffer, {4}));
  h.Apply("exp", {x}, h.At(buffer, {4}, 16), {}, /*accumulate=*/true);  // half on, half off
  const ValueId out = h.Fresh({8});
  h.Apply("tanh", {h.At(buffer, {8})}, out);
  h.program.feeds = {x};
  h.program.outputs = {out};
  int64_t converted = -1;
  const Program p = WriteFirstSums(h.program, &converted);
  EXPECT_EQ(converted, 0);
  EXPECT_TRUE(ComputeLifetimes(p)[buffer].zero_first);
}

TEST(FirstWritesTest, ASumReadingItsOwnBytesAndHostBuffersKeepTheZeroing) {
  HandBuilt h;
  const BufferId own = h.Buffer(4 * 8);
  const ValueId y = h.At(own, {4});
  h.Apply("tanh", {y}, y, {}, /*accumulate=*/true);  // reads what it sums into
  const ValueId out = h.Fresh({4});
  h.Apply("tanh", {y}, out);
  const ValueId x = h.Fresh({4}), host = h.Fresh({4});
  h.Apply("tanh", {x}, host, {}, /*accumulate=*/true);
  h.program.feeds = {x};
  h.program.outputs = {out, host};
  const SumStarts starts = FindSumStarts(h.program);
  EXPECT_FALSE(starts.clean[own]);
  EXPECT_FALSE(starts.clean[h.program.values[host].buffer]);
  int64_t converted = -1;
  WriteFirstSums(h.program, &converted);
  EXPECT_EQ(converted, 0);
}

// One cell's training step compiled with or without WriteFirstSums, on its own store (same
// seed: same weights).
struct CellProgram {
  CellProgram(CellKind kind, DType dtype, bool first_writes) : store({.seed = 5}) {
    constexpr int64_t kSteps = 6, kBatch = 4, kInput = 3, kHidden = 8;
    absl::StatusOr<AnyCell> cell = MakeCell(
        store, {.kind = kind,
                .recurrent = {.input_size = kInput, .hidden_size = kHidden, .dtype = dtype}});
    EXPECT_TRUE(cell.ok()) << cell.status();
    Graph g({.mode = ExecMode::kRecord});
    const Shape shape{kSteps, kBatch, kInput};
    const size_t n = static_cast<size_t>(shape.num_elements());
    x = dtype == DType::kF64 ? g.Input(shape, std::vector<double>(n, 0.5))
                             : g.Input(shape, std::vector<float>(n, 0.5f));
    std::vector<Expr> hs = Unroll(g, *cell, SplitSteps(x), cell->ZeroState(g, kBatch)).outputs;
    Expr loss = Mean(Square(StackSteps(hs)));
    EXPECT_TRUE(Backward(loss).ok());
    absl::StatusOr<CompiledGraph> c = Compile(
        g, {.feeds = {x}, .outputs = {loss}, .write_first_sums = first_writes});
    EXPECT_TRUE(c.ok()) << c.status();
    if (c.ok()) program = *std::move(c);
  }
  std::vector<double> Run(const Tensor& feed) {
    store.ZeroGrad();
    EXPECT_TRUE(program.Run({feed}).ok());
    return tg::testing::OutputAndGradients(program.output(0), store);
  }
  ParameterStore store;
  Expr x;
  CompiledGraph program;
};

// The per-step gradients of the gate sums fill their rows of one stacked buffer, each row
// first written by its step: no zeroing is left, and every result is the same number.
TEST(FirstWritesTest, CompiledCellsGiveTheSameResultsWithoutZeroing) {
  for (CellKind kind : {CellKind::kLstm, CellKind::kGru}) {
    for (DType dtype : {DType::kF32, DType::kF64}) {
      SCOPED_TRACE(::testing::Message() << "cell " << static_cast<int>(kind) << " dtype "
                                        << DTypeName(dtype));
      CellProgram with(kind, dtype, true), without(kind, dtype, false);
      const std::string listing = with.program.Listing(), before = without.program.Listing();
      EXPECT_NE(before.find(" zero "), std::string::npos) << before;
      EXPECT_EQ(listing.find(" zero "), std::string::npos) << listing;
      for (int run = 0; run < 2; ++run) {
        std::vector<double> xs(6 * 4 * 3);
        for (size_t i = 0; i < xs.size(); ++i) xs[i] = std::sin(0.7 * i + run);
        std::vector<float> xf(xs.begin(), xs.end());
        const Tensor feed = dtype == DType::kF64 ? Tensor(xs.data(), DType::kF64, {6, 4, 3})
                                                 : Tensor(xf.data(), DType::kF32, {6, 4, 3});
        const std::vector<double> a = with.Run(feed), b = without.Run(feed);
        ASSERT_EQ(a.size(), b.size());
        for (size_t i = 0; i < a.size(); ++i) ASSERT_EQ(a[i], b[i]) << "value " << i;
      }
    }
  }
}

}  // namespace
}  // namespace tg::compile
