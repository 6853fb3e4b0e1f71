// A compiled LSTM whose recurrent weight is prepared once per run (OpDef::prepare on matmul's
// B, CompileSpec::prepare_operands) computes what the same program computes reading the weight
// as it is: bitwise in float64, where both run the blocked kernel, and within float32's
// rounding where the unprepared products run oneDNN. Over several runs with the weights
// changed between them, as an optimizer step changes them, each run prepares the weights it
// reads. In ops_test, so that it runs on every ISA path (ctest's *.avx2 copies).
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "autodiff/backward.h"
#include "graph/compile/compiled_graph.h"
#include "gtest/gtest.h"
#include "models/stack.h"
#include "models/unroll.h"
#include "ops/kernels/gemm.h"
#include "ops/kernels/isa.h"
#include "ops/ops.h"

namespace tg {
namespace {

struct Sizes {
  int64_t steps, batch, input, hidden;
  DType dtype;
};

// One LSTM's training step compiled on its own store (same seed: same weights), with or
// without prepared operands.
struct Program {
  Program(const Sizes& s, bool prepare) : store({.seed = 11}) {
    absl::StatusOr<AnyCell> cell = MakeCell(
        store, {.kind = CellKind::kLstm,
                .recurrent = {.input_size = s.input, .hidden_size = s.hidden, .dtype = s.dtype}});
    EXPECT_TRUE(cell.ok()) << cell.status();
    Graph g({.mode = ExecMode::kRecord});
    const Shape shape{s.steps, s.batch, s.input};
    const size_t n = static_cast<size_t>(shape.num_elements());
    x = s.dtype == DType::kF64 ? g.Input(shape, std::vector<double>(n, 0.5))
                               : g.Input(shape, std::vector<float>(n, 0.5f));
    std::vector<Expr> hs = Unroll(g, *cell, SplitSteps(x), cell->ZeroState(g, s.batch)).outputs;
    Expr loss = Mean(Square(StackSteps(hs)));
    EXPECT_TRUE(Backward(loss).ok());
    absl::StatusOr<CompiledGraph> c =
        Compile(g, {.feeds = {x}, .outputs = {loss}, .prepare_operands = prepare});
    EXPECT_TRUE(c.ok()) << c.status();
    if (c.ok()) program = *std::move(c);
  }
  ParameterStore store;
  Expr x;
  CompiledGraph program;
};

// Steps of the listing that prepare an operand.
int PrepareSteps(const CompiledGraph& c) {
  int n = 0;
  for (const auto& [name, count] : c.KernelsByOp()) {
    if (name == "prepare_matmul") n += count;
  }
  return n;
}

// Runs both programs `runs` times on new inputs; after each run, checks the loss and every
// gradient (bitwise when `rtol` is 0, else within rtol of each tensor's largest entry), then
// moves every weight of both stores by the same step, as SGD would.
void ExpectSameRuns(const Sizes& s, double rtol, int runs) {
  Program prepared(s, true), plain(s, false);
  std::vector<double> xs(static_cast<size_t>(s.steps * s.batch * s.input));
  for (int run = 0; run < runs; ++run) {
    SCOPED_TRACE(::testing::Message() << "run " << run);
    for (size_t i = 0; i < xs.size(); ++i) xs[i] = std::sin(0.3 * i + run);
    std::vector<float> xf(xs.begin(), xs.end());
    const Tensor feed = s.dtype == DType::kF64
                            ? Tensor(xs.data(), DType::kF64, {s.steps, s.batch, s.input})
                            : Tensor(xf.data(), DType::kF32, {s.steps, s.batch, s.input});
    for (Program* p : {&prepared, &plain}) {
      p->store.ZeroGrad();
      ASSERT_TRUE(p->program.Run({feed}).ok());
    }
    auto value = [&](const Tensor& t) {
      std::vector<double> v(static_cast<size_t>(t.num_elements()));
      for (size_t i = 0; i < v.size(); ++i) {
        v[i] = t.dtype() == DType::kF64 ? t.data<double>()[i] : t.data<float>()[i];
      }
      return v;
    };
    auto expect_near = [&](const std::vector<double>& got, const std::vector<double>& want,
                           const std::string& what) {
      ASSERT_EQ(got.size(), want.size());
      double scale = 0;
      for (double w : want) scale = std::max(scale, std::fabs(w));
      for (size_t i = 0; i < got.size(); ++i) {
        if (rtol == 0) {
          ASSERT_EQ(got[i], want[i]) << what << " at " << i;
        } else {
          ASSERT_NEAR(got[i], want[i], rtol * scale) << what << " at " << i;
        }
      }
    };
    expect_near(value(prepared.program.output(0)), value(plain.program.output(0)), "loss");
    const std::vector<Parameter> a = prepared.store.parameters(), b = plain.store.parameters();
    ASSERT_EQ(a.size(), b.size());
    for (size_t k = 0; k < a.size(); ++k) {
      expect_near(value(a[k].grad()), value(b[k].grad()), a[k].name() + " gradient");
    }
    // The same step on both stores, from the prepared program's gradients.
    for (size_t k = 0; k < a.size(); ++k) {
      absl::StatusOr<std::vector<double>> w = prepared.store.Get(a[k].name());
      ASSERT_TRUE(w.ok());
      const std::vector<double> g = value(a[k].grad());
      for (size_t i = 0; i < w->size(); ++i) (*w)[i] -= 0.5 * g[i];
      ASSERT_TRUE(prepared.store.Set(a[k].name(), *w).ok());
      ASSERT_TRUE(plain.store.Set(b[k].name(), *w).ok());
    }
  }
  EXPECT_EQ(PrepareSteps(plain.program), 0);
  // W_hh is prepared for h W_hh^T forward, and for dz W_hh backward where a prepared
  // untransposed B pays (kernels::PreparedGemmBPays: float64, and float32 on the AVX2 path).
  // Each form is one step of the program, run once per run.
  const kernels::GemmArgs backward{
      .m = s.batch, .n = s.hidden, .k = 4 * s.hidden, .lda = 4 * s.hidden, .ldb = s.hidden,
      .ldc = s.hidden};
  const bool both = kernels::PreparedGemmBPays(backward, s.dtype == DType::kF64);
  EXPECT_EQ(both, s.dtype == DType::kF64 || kernels::ActiveIsa() == kernels::Isa::kAvx2);
  EXPECT_EQ(prepared.program.num_prepared(), both ? 2 : 1) << prepared.program.Listing();
  EXPECT_EQ(PrepareSteps(prepared.program), prepared.program.num_prepared());
}

// Batch 20 (more rows than the dot-product kernel takes) and hidden 80 (W_hh too large to be
// read in place): unprepared, the recurrent products run the blocked kernel, which packs B as
// PrepareGemmB does.
TEST(PreparedMatMulTest, CompiledLstmIsBitwiseTheSameInFloat64) {
  ExpectSameRuns({.steps = 6, .batch = 20, .input = 7, .hidden = 80, .dtype = DType::kF64},
                 0, 3);
}

TEST(PreparedMatMulTest, CompiledLstmMatchesWithinRoundingInFloat32) {
  ExpectSameRuns({.steps = 6, .batch = 20, .input = 7, .hidden = 80, .dtype = DType::kF32},
                 1e-5, 3);
}

// Batch 3: the unprepared products run the small-product kernels (dot products, B read in
// place), so float64 agrees to rounding, not bitwise.
TEST(PreparedMatMulTest, CompiledLstmAtASmallBatchMatchesInFloat64) {
  ExpectSameRuns({.steps = 5, .batch = 3, .input = 4, .hidden = 5, .dtype = DType::kF64},
                 1e-12, 3);
}

}  // namespace
}  // namespace tg
