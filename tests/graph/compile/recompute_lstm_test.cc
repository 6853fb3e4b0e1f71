// Activation checkpointing on an LSTM: the plan keeps a quarter of the memory or less at the M
// sizes over 1,024 steps; the gradients equal, bit for bit, those of the same program cut at
// the same checkpoints without recomputing, and those of the uncut program to 1e-12 in float64
// (1e-5 of each tensor's largest entry in float32) -- dropout included, whose masks a
// recomputed segment draws again; and each step costs three matrix products: the recurrent
// one, the same again, and its input gradient.
#include <algorithm>
#include <cmath>
#include <span>
#include <vector>

#include "autodiff/backward.h"
#include "graph/compile/compiled_graph.h"
#include "gtest/gtest.h"
#include "models/stack.h"
#include "models/unroll.h"
#include "ops/ops.h"
#include "testing/test_values.h"
#include "tests/sanitizer_build.h"

namespace tg {
namespace {

struct Sizes {
  int64_t steps, batch, input, hidden, every;
  DType dtype = DType::kF64;
  double dropout = 0;
};

// One LSTM training step, its per-step outputs' squares summed (each term after the loop, so
// the outputs outlive their segments: values other work reads stay), compiled as asked; the
// store outlives the program. With dropout, the loop is the test's own.
// What to compile: recompute, only cut, or neither; with or without the own context.
enum class Mode { kAll, kCut, kRecompute };
CompileSpec Options(Mode mode, bool own_context = true) {
  CompileSpec spec;
  spec.recompute = mode == Mode::kRecompute;
  spec.cut_at_checkpoints = mode == Mode::kCut;
  spec.own_context = own_context;
  return spec;
}

struct Compiled {
  Compiled(const Sizes& s, CompileSpec options) : store({.seed = 12}) {
    absl::StatusOr<AnyCell> cell = MakeCell(
        store, {.kind = CellKind::kLstm,
                .recurrent = {.input_size = s.input, .hidden_size = s.hidden, .dtype = s.dtype}});
    EXPECT_TRUE(cell.ok()) << cell.status();
    if (!cell.ok()) return;
    Graph g({.mode = ExecMode::kRecord});
    const int64_t n = s.steps * s.batch * s.input;
    x = s.dtype == DType::kF64 ? g.Input({s.steps, s.batch, s.input}, std::vector<double>(n, 0.0))
                               : g.Input({s.steps, s.batch, s.input}, std::vector<float>(n, 0.0f));
    std::vector<Expr> hs;
    if (s.dropout == 0) {
      hs = Unroll(g, *cell, SplitSteps(x), cell->ZeroState(g, s.batch),
                  {.checkpoint_every = s.every})
               .outputs;
    } else {
      // A loop of one's own, marking its checkpoints itself; dropout on each step's input, so
      // that every segment draws masks (and draws them again when it is recomputed).
      std::vector<Expr> xs = SplitSteps(x);
      State state = cell->ZeroState(g, s.batch);
      for (int64_t t = 0; t < s.steps; ++t) {
        state = cell->Step(g, Dropout(xs[t], s.dropout, /*seed=*/100 + t), state);
        hs.push_back(state.h);
        if ((t + 1) % s.every == 0 || t + 1 == s.steps) {
          g.MarkCheckpoint({state.h, state.c});
        }
      }
    }
    Expr loss;
    for (size_t t = 0; t < hs.size(); ++t) {
      Expr term = Mean(Square(hs[t]));
      loss = t == 0 ? term : loss + term;
    }
    EXPECT_TRUE(Backward(loss).ok()) << g.status();
    options.feeds = {x};
    options.outputs = {loss};
    absl::StatusOr<CompiledGraph> c = Compile(g, options);
    EXPECT_TRUE(c.ok()) << c.status();
    if (c.ok()) program = *std::move(c);
  }

  // The loss and every parameter gradient of a run on `xs`, as doubles.
  std::vector<double> Run(const std::vector<double>& xs, const Sizes& s) {
    store.ZeroGrad();
    std::vector<float> x32(xs.begin(), xs.end());
    const Shape shape{s.steps, s.batch, s.input};
    const Tensor feed = s.dtype == DType::kF64
                            ? Tensor(const_cast<double*>(xs.data()), DType::kF64, shape)
                            : Tensor(x32.data(), DType::kF32, shape);
    EXPECT_TRUE(program.Run({feed}).ok());
    return tg::testing::OutputAndGradients(program.output(0), store);
  }

  ParameterStore store;
  Expr x;
  CompiledGraph program;
};

TEST(RecomputeLstmTest, KeepsAQuarterOfTheMemoryAtTheMSizesOver1024Steps) {
  const Sizes m{.steps = 1024, .batch = 32, .input = 64, .hidden = 256, .every = 32,
                .dtype = DType::kF32};
  // Compiled only (nothing allocated for runs): the plans are what is compared.
  Compiled all(m, Options(Mode::kAll, /*own_context=*/false));
  Compiled again(m, Options(Mode::kRecompute, /*own_context=*/false));
  EXPECT_EQ(again.program.num_segments(), 32);
  EXPECT_LE(again.program.peak_bytes() * 4, all.program.peak_bytes())
      << again.program.peak_bytes() << " bytes with recompute, " << all.program.peak_bytes()
      << " without";
}

// Float64: bitwise against the cut program, 1e-12 against the uncut one, over `runs` runs (the
// second draws new masks).
void ExpectFloat64GradientsMatch(const Sizes& s, uint64_t runs) {
  Compiled again(s, Options(Mode::kRecompute)), cut(s, Options(Mode::kCut)),
      all(s, Options(Mode::kAll));
  EXPECT_GT(again.program.num_recomputed(), 0);
  for (uint64_t seed = 1; seed <= runs; ++seed) {
    const std::vector<double> xs = testing::UniformValues(s.steps * s.batch * s.input, seed);
    const std::vector<double> got = again.Run(xs, s), same = cut.Run(xs, s), want = all.Run(xs, s);
    ASSERT_EQ(got.size(), want.size());
    EXPECT_EQ(got, same) << "run " << seed;
    int64_t far = 0;  // counted, so that a wrong program prints one line, not millions
    for (size_t i = 0; i < want.size(); ++i) {
      if (std::abs(got[i] - want[i]) > 1e-12 * (1 + std::abs(want[i]))) {
        if (far++ == 0) ADD_FAILURE() << "element " << i << ": " << got[i] << " vs " << want[i];
      }
    }
    EXPECT_EQ(far, 0) << "elements off by more than 1e-12, run " << seed;
  }
}

// Float32: bitwise against the cut program; the loss within 1e-5 relative and each gradient
// within 1e-5 of its own largest entry against the uncut program.
void ExpectFloat32GradientsMatch(const Sizes& s) {
  Compiled again(s, Options(Mode::kRecompute)), cut(s, Options(Mode::kCut)),
      all(s, Options(Mode::kAll));
  const std::vector<double> xs = testing::UniformValues(s.steps * s.batch * s.input, 3);
  const std::vector<double> got = again.Run(xs, s), want = all.Run(xs, s);
  EXPECT_EQ(got, cut.Run(xs, s));
  ASSERT_EQ(got.size(), want.size());
  EXPECT_NEAR(got[0], want[0], 1e-5 * std::abs(want[0]));  // the loss
  size_t at = 1;
  for (const Parameter& p : all.store.parameters()) {
    const size_t n = static_cast<size_t>(p.grad().num_elements());
    double scale = 0;
    for (size_t i = at; i < at + n; ++i) scale = std::max(scale, std::abs(want[i]));
    int64_t far = 0;
    for (size_t i = at; i < at + n; ++i) {
      if (std::abs(got[i] - want[i]) > 1e-5 * scale) {
        if (far++ == 0) ADD_FAILURE() << p.name() << " element " << i - at << ": " << got[i]
                                      << " vs " << want[i] << " (max " << scale << ")";
      }
    }
    EXPECT_EQ(far, 0) << p.name() << ": elements off by more than 1e-5 of the max";
    at += n;
  }
}

TEST(RecomputeLstmTest, GradientsEqualTheCutProgramsBitwiseAndTheUncutOnesInFloat64) {
  ExpectFloat64GradientsMatch({.steps = 48, .batch = 4, .input = 8, .hidden = 16, .every = 6,
                               .dtype = DType::kF64, .dropout = 0.25},
                              /*runs=*/2);
}

TEST(RecomputeLstmTest, GradientsEqualTheUncutOnesInFloat32WithinRounding) {
  ExpectFloat32GradientsMatch({.steps = 48, .batch = 4, .input = 8, .hidden = 16, .every = 6,
                               .dtype = DType::kF32, .dropout = 0.25});
}

// The same at the M sizes over 1,024 steps, a checkpoint every 32, one run each (three
// programs of about 65 GFLOP a run in float64: tens of seconds; the sanitizer suite runs the
// small sizes above instead).
TEST(RecomputeLstmTest, GradientsMatchAtTheMSizesOver1024StepsInFloat64) {
  if (testing::kSanitizerBuild) GTEST_SKIP() << "too slow under the sanitizers";
  ExpectFloat64GradientsMatch({.steps = 1024, .batch = 32, .input = 64, .hidden = 256,
                               .every = 32, .dtype = DType::kF64, .dropout = 0.25},
                              /*runs=*/1);
}

TEST(RecomputeLstmTest, GradientsMatchAtTheMSizesOver1024StepsInFloat32) {
  if (testing::kSanitizerBuild) GTEST_SKIP() << "too slow under the sanitizers";
  ExpectFloat32GradientsMatch({.steps = 1024, .batch = 32, .input = 64, .hidden = 256,
                               .every = 32, .dtype = DType::kF32, .dropout = 0.25});
}

int Products(const CompiledGraph& c) {
  for (const auto& [name, count] : c.KernelsByOp()) {
    if (name == "matmul") return count;
  }
  return 0;
}

// With the same two segments, twice the steps cost three more products per step.
TEST(RecomputeLstmTest, EachStepCostsThreeProducts) {
  const Sizes shorter{.steps = 8, .batch = 3, .input = 4, .hidden = 5, .every = 4};
  const Sizes longer{.steps = 16, .batch = 3, .input = 4, .hidden = 5, .every = 8};
  Compiled a(shorter, Options(Mode::kRecompute)), b(longer, Options(Mode::kRecompute));
  EXPECT_EQ(a.program.num_segments(), 2);  // checkpoints after step k and after the last
  EXPECT_EQ(b.program.num_segments(), 2);
  EXPECT_EQ(Products(b.program) - Products(a.program), 3 * 8)
      << a.program.Listing() << b.program.Listing();
}

TEST(RecomputeLstmTest, RecomputeWithoutCheckpointsIsRefused) {
  ParameterStore store({.seed = 1});
  Parameter w = *store.Add("w", {3, 3}, Init::Uniform(-1, 1), DType::kF64);
  Graph g({.mode = ExecMode::kRecord});
  Expr x = g.Input({2, 3}, std::vector<double>(6, 0.5));
  Expr loss = Sum(Tanh(MatMul(x, g.Param(w))));
  ASSERT_TRUE(Backward(loss).ok());
  absl::StatusOr<CompiledGraph> c =
      Compile(g, {.feeds = {x}, .outputs = {loss}, .recompute = true});
  EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(c.status().message().find("MarkCheckpoint"), std::string::npos) << c.status();
}

}  // namespace
}  // namespace tg
