// Unroll (scopes, errors, per-example lengths, recurrent dropout), stacks, the bidirectional
// wrapper and Dropout. Gradient checks run in f64 over parameters and inputs.
#include "models/unroll.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "autodiff/backward.h"
#include "autodiff/grad_check.h"
#include "gtest/gtest.h"
#include "models/custom_cells.h"
#include "models/gru_cell.h"
#include "models/layers.h"
#include "models/lstm_cell.h"
#include "models/stack.h"
#include "ops/ops.h"
#include "testing/test_values.h"
#include "tests/models/grad_check_util.h"

namespace tg {
namespace {

using testing::UniformValues;

constexpr int kT = 4, kB = 3, kI = 2, kH = 3;

// T step inputs [B,I] from one [T*B, I] Expr.
std::vector<Expr> Steps(Expr xs) {
  std::vector<Expr> steps;
  for (int t = 0; t < kT; ++t) steps.push_back(Slice(xs, 0, t * kB, (t + 1) * kB));
  return steps;
}

// <outputs, K> over steps plus <final h, K> and <final c, K>.
Expr ReadoutLoss(Graph& g, absl::Span<const Expr> outputs, const std::vector<State>& finals) {
  int64_t width = outputs[0].shape()[1];
  Expr k = HostConstant(g, {kB, width}, UniformValues(kB * width, 77), outputs[0].dtype());
  Expr loss = Sum(outputs[0] * k);
  for (size_t t = 1; t < outputs.size(); ++t) loss = loss + Sum(outputs[t] * k);
  for (const State& s : finals) {
    Expr kh =
        HostConstant(g, s.h.shape(), UniformValues(s.h.shape().num_elements(), 78), s.h.dtype());
    loss = loss + Sum(s.h * kh);
    if (s.c.valid()) loss = loss + Sum(s.c * kh);
  }
  return loss;
}

const GradCheckInput kXs = {.shape = {kT * kB, kI}, .values = UniformValues(kT * kB * kI, 5)};

// Checks d loss / d params (f64 store) and d loss / d xs for loss = f(g, xs).
void ExpectGradientsMatch(ParameterStore& store,
                          const std::function<Expr(Graph&, Expr)>& loss_of_xs) {
  test_util::ExpectGradientsMatch(
      store, {kXs}, [&](Graph& g, absl::Span<const Expr> in) { return loss_of_xs(g, in[0]); });
}

TEST(UnrollTest, MatchesAHandWrittenLoopAndScopesEachStep) {
  ParameterStore store({.seed = 1});
  LstmCell cell =
      *LstmCell::Create(store, {.input_size = kI, .hidden_size = kH, .dtype = DType::kF64});
  Graph g;
  std::vector<Expr> xs = Steps(g.Input(kXs.shape, kXs.values));
  UnrollResult r = Unroll(g, cell, xs, cell.ZeroState(g, kB));
  State s = cell.ZeroState(g, kB);
  for (int t = 0; t < kT; ++t) {
    s = cell.Step(g, xs[t], s);
    EXPECT_EQ(*r.outputs[t].ToVector<double>(), *s.h.ToVector<double>()) << t;
  }
  EXPECT_EQ(*r.final.c.ToVector<double>(), *s.c.ToVector<double>());
  bool found = false;
  for (NodeId id = 0; id < g.num_nodes(); ++id) found |= g.NodePath(id) == "step_3/lstm/mul";
  EXPECT_TRUE(found);
}

// kT = 4 steps, a checkpoint every 3: the state after step 3 and after the last, h and c each.
TEST(UnrollTest, MarksTheCarriedStateEveryKStepsAndAfterTheLast) {
  ParameterStore store({.seed = 1});
  LstmCell cell =
      *LstmCell::Create(store, {.input_size = kI, .hidden_size = kH, .dtype = DType::kF64});
  Graph g;
  std::vector<Expr> xs = Steps(g.Input(kXs.shape, kXs.values));
  UnrollResult plain = Unroll(g, cell, xs, cell.ZeroState(g, kB));
  EXPECT_TRUE(g.checkpoints().empty());
  UnrollResult r = Unroll(g, cell, xs, cell.ZeroState(g, kB), {.checkpoint_every = 3});
  ASSERT_EQ(g.checkpoints().size(), 4u);  // h and c, twice
  EXPECT_EQ(g.checkpoints()[3], std::max(r.final.h.id(), r.final.c.id()));
  EXPECT_EQ(g.checkpoints()[2], std::min(r.final.h.id(), r.final.c.id()));
  // Each checkpoint ends at the later of h and c; the state after step 3 is what step 4 starts
  // from: its h is the third output.
  EXPECT_EQ(g.checkpoint_ends(), (std::vector<NodeId>{r.outputs[2].id(), r.final.h.id()}));
  Unroll(g, cell, xs, cell.ZeroState(g, kB), {.checkpoint_every = -1});
  EXPECT_EQ(g.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(g.status().message().find("checkpoint_every is -1"), std::string::npos) << g.status();
}

TEST(UnrollTest, WrongInputWidthNamesTheOpShapesAndStep) {
  ParameterStore store;
  LstmCell cell = *LstmCell::Create(store, {.input_size = 3, .hidden_size = 4});
  Graph g;
  std::vector<Expr> xs(2, g.Fill({2, 5}, 0.5));
  UnrollResult r = Unroll(g, cell, xs, cell.ZeroState(g, 2));
  const std::string msg(g.status().message());
  EXPECT_EQ(g.status().code(), absl::StatusCode::kInvalidArgument);
  for (const char* part : {"matmul", "[2,5]", "[16,3]", "\"step_0/lstm/matmul\""}) {
    EXPECT_NE(msg.find(part), std::string::npos) << part << " missing in: " << msg;
  }
  EXPECT_FALSE(r.outputs[1].value().ok());  // poisoned downstream
}

TEST(UnrollTest, WrongLengthsAreErrors) {
  ParameterStore store;
  GruCell cell = *GruCell::Create(store, {.input_size = kI, .hidden_size = kH});
  for (std::vector<int32_t> lengths : {std::vector<int32_t>{4, 2}, {4, 2, 5}, {1, -1, 2}}) {
    Graph g;
    std::vector<Expr> xs(kT, g.Fill({kB, kI}, 0.1));
    UnrollResult r = Unroll(g, cell, xs, cell.ZeroState(g, kB), {.lengths = lengths});
    EXPECT_EQ(g.status().code(), absl::StatusCode::kInvalidArgument) << lengths.size();
    EXPECT_NE(g.status().message().find("Unroll: "), std::string::npos) << g.status();
    EXPECT_FALSE(r.outputs[0].valid());
  }
}

TEST(UnrollTest, MaskedVariableLengthGradientsMatchFiniteDifferences) {
  ParameterStore store({.seed = 2});
  LstmCell cell =
      *LstmCell::Create(store, {.input_size = kI, .hidden_size = kH, .dtype = DType::kF64});
  ExpectGradientsMatch(store, [&](Graph& g, Expr xs) {
    UnrollResult r = Unroll(g, cell, Steps(xs), cell.ZeroState(g, kB), {.lengths = {4, 2, 3}});
    return ReadoutLoss(g, r.outputs, {r.final});
  });
}

// Each example of a padded batch, forward and reverse, equals that example run alone over
// its own length; outputs past the end are exactly zero.
TEST(UnrollTest, MaskedBatchEqualsEachExampleRunAlone) {
  ParameterStore store({.seed = 3});
  LstmCell cell =
      *LstmCell::Create(store, {.input_size = kI, .hidden_size = kH, .dtype = DType::kF64});
  const std::vector<int32_t> lengths = {4, 2, 3};
  for (bool reverse : {false, true}) {
    Graph g;
    Expr xs = g.Input(kXs.shape, kXs.values);
    UnrollResult r =
        Unroll(g, cell, Steps(xs), cell.ZeroState(g, kB), {.lengths = lengths, .reverse = reverse});
    for (int b = 0; b < kB; ++b) {
      std::vector<Expr> own;
      for (int t = 0; t < lengths[b]; ++t) own.push_back(Slice(xs, 0, t * kB + b, t * kB + b + 1));
      UnrollResult alone = Unroll(g, cell, own, cell.ZeroState(g, 1), {.reverse = reverse});
      std::vector<double> h = *r.final.h.ToVector<double>(), c = *r.final.c.ToVector<double>();
      std::vector<double> h1 = *alone.final.h.ToVector<double>(),
                          c1 = *alone.final.c.ToVector<double>();
      for (int j = 0; j < kH; ++j) {
        EXPECT_NEAR(h[b * kH + j], h1[j], 1e-14) << "reverse " << reverse << " example " << b;
        EXPECT_NEAR(c[b * kH + j], c1[j], 1e-14);
      }
      for (int t = 0; t < kT; ++t) {
        std::vector<double> out = *r.outputs[t].ToVector<double>();
        std::vector<double> want =
            t < lengths[b] ? *alone.outputs[t].ToVector<double>() : std::vector<double>(kH, 0);
        for (int j = 0; j < kH; ++j) EXPECT_NEAR(out[b * kH + j], want[j], 1e-14) << t;
      }
    }
  }
}

TEST(UnrollTest, SplitStepsCutsTimeMajorInputAndStackStepsJoinsIt) {
  Graph g;
  std::vector<double> v = UniformValues(kT * kB * kI, 9);
  Expr xs = g.Input({kT, kB, kI}, v, {.requires_grad = true});
  std::vector<Expr> steps = SplitSteps(xs);
  ASSERT_EQ(steps.size(), static_cast<size_t>(kT));
  EXPECT_EQ(steps[2].shape(), (Shape{kB, kI}));
  EXPECT_EQ(*StackSteps(steps).ToVector<double>(), v);
  auto grads = Backward(Sum(steps[1] * 2.0), {xs});
  ASSERT_TRUE(grads.ok()) << grads.status();
  std::vector<double> d = *(*grads)[0].ToVector<double>();
  for (int i = 0; i < kT * kB * kI; ++i) EXPECT_EQ(d[i], i / (kB * kI) == 1 ? 2.0 : 0.0) << i;
  SplitSteps(g.Fill({2, 3}, 0));
  EXPECT_NE(g.status().message().find("[T,B,I]"), std::string::npos);
}

// A user's cell that passes h through: its output shows the h Unroll handed it.
struct PassThroughCell {
  State Step(Graph&, Expr, const State& s) const { return {.h = Copy(s.h), .c = Expr()}; }
  State ZeroState(Graph& g, int64_t batch) const {
    return {.h = g.Fill({batch, 50}, 1.0), .c = Expr()};
  }
  int64_t hidden_size() const { return 50; }
};

TEST(UnrollTest, RecurrentDropoutUsesOneMaskForTheWholeSequence) {
  Graph g;
  PassThroughCell cell;
  std::vector<Expr> xs(kT, g.Fill({kB, 1}, 0));
  Rng rng(4);
  UnrollResult r =
      Unroll(g, cell, xs, cell.ZeroState(g, kB), {.recurrent_dropout = 0.5, .rng = &rng});
  // h_t = m^(t+1): the same units are dropped at every step, the rest grow by 2 per step.
  std::vector<float> first = *r.outputs[0].ToVector<float>();
  int dropped = 0;
  for (int t = 0; t < kT; ++t) {
    std::vector<float> h = *r.outputs[t].ToVector<float>();
    for (size_t i = 0; i < h.size(); ++i) {
      EXPECT_EQ(h[i], first[i] == 0 ? 0.0f : std::pow(2.0f, t + 1)) << t << " " << i;
      dropped += t == 0 && h[i] == 0;
    }
  }
  EXPECT_GT(dropped, 50) << "about half of 150";
  EXPECT_LT(dropped, 100);
  Graph inference({.mode = ExecMode::kInference});
  std::vector<Expr> xi(kT, inference.Fill({kB, 1}, 0));
  UnrollResult ri = Unroll(inference, cell, xi, cell.ZeroState(inference, kB),
                           {.recurrent_dropout = 0.5, .rng = &rng});
  std::vector<float> hi = *ri.final.h.ToVector<float>();
  for (float v : hi) EXPECT_EQ(v, 1.0f);
}

// ---- stacks ----

TEST(StackTest, TwoLayerBidirectionalLstmHasPyTorchNamesAndShapes) {
  ParameterStore store;
  auto rnn = StackedRnn::Create(store, {.kind = CellKind::kLstm,
                                        .input_size = 10,
                                        .hidden_size = 20,
                                        .num_layers = 2,
                                        .bidirectional = true,
                                        .prefix = "encoder.lstm"});
  ASSERT_TRUE(rnn.ok()) << rnn.status();
  std::vector<std::pair<std::string, Shape>> want;
  for (std::string l : {"l0", "l0_reverse", "l1", "l1_reverse"}) {
    int64_t in = l[1] == '0' ? 10 : 40;
    want.push_back({"encoder.lstm.weight_ih_" + l, {80, in}});
    want.push_back({"encoder.lstm.weight_hh_" + l, {80, 20}});
    want.push_back({"encoder.lstm.bias_ih_" + l, {80}});
    want.push_back({"encoder.lstm.bias_hh_" + l, {80}});
  }
  std::vector<Parameter> got = store.parameters();
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(got[i].name(), want[i].first);
    EXPECT_EQ(got[i].shape(), want[i].second) << want[i].first;
  }
  EXPECT_EQ(rnn->output_size(), 40);
}

TEST(StackTest, TwoLayerStackWithDropoutGradientsMatchFiniteDifferences) {
  ParameterStore store({.seed = 4});
  StackedRnn rnn = *StackedRnn::Create(store, {.kind = CellKind::kGru,
                                               .input_size = kI,
                                               .hidden_size = kH,
                                               .num_layers = 2,
                                               .dropout = 0.3,
                                               .dtype = DType::kF64});
  ExpectGradientsMatch(store, [&](Graph& g, Expr xs) {
    Rng rng(11);  // fresh per evaluation: the same masks every time
    StackResult r = rnn.Run(g, Steps(xs), {.rng = &rng});
    return ReadoutLoss(g, r.outputs, r.final);
  });
}

TEST(StackTest, StackOfCustomCellsGradientsMatchFiniteDifferences) {
  ParameterStore store({.seed = 8});
  auto ln =
      LayerNormLstmCell::Create(store, {.input_size = kI, .hidden_size = kH, .dtype = DType::kF64});
  auto peep = PeepholeLstmCell::Create(
      store, {.input_size = kH, .hidden_size = kH, .layer = 1, .dtype = DType::kF64});
  ASSERT_TRUE(ln.ok() && peep.ok());
  StackedRnn rnn = *StackedRnn::FromCells({*ln, *peep});
  ExpectGradientsMatch(store, [&](Graph& g, Expr xs) {
    StackResult r = rnn.Run(g, Steps(xs));
    return ReadoutLoss(g, r.outputs, r.final);
  });
  EXPECT_FALSE(StackedRnn::FromCells({*ln, *peep}, {*ln}).ok());  // 2 forward, 1 backward
}

TEST(StackTest, BidirectionalGradientsMatchFiniteDifferences) {
  ParameterStore store({.seed = 5});
  StackedRnn rnn = *StackedRnn::Create(store, {.kind = CellKind::kLstm,
                                               .input_size = kI,
                                               .hidden_size = kH,
                                               .bidirectional = true,
                                               .dtype = DType::kF64});
  ExpectGradientsMatch(store, [&](Graph& g, Expr xs) {
    StackResult r = rnn.Run(g, Steps(xs), {.lengths = {4, 2, 3}});
    return ReadoutLoss(g, r.outputs, r.final);
  });
}

TEST(StackTest, BidirectionalConcatenatesForwardAndReversedRuns) {
  ParameterStore store({.seed = 6});
  AnyCell f = *MakeCell(store, {.kind = CellKind::kGru,
                                .recurrent = {.input_size = kI, .hidden_size = kH,
                                              .dtype = DType::kF64}});
  AnyCell b = *MakeCell(store, {.kind = CellKind::kRnnTanh,
                                .recurrent = {.input_size = kI,
                                              .hidden_size = 2,
                                              .reverse = true,
                                              .dtype = DType::kF64}});
  Graph g;
  std::vector<Expr> xs = Steps(g.Input(kXs.shape, kXs.values));
  BidirectionalResult r = Bidirectional(f, b).Run(g, xs, f.ZeroState(g, kB), b.ZeroState(g, kB));
  UnrollResult fwd = Unroll(g, f, xs, f.ZeroState(g, kB));
  std::vector<Expr> reversed(xs.rbegin(), xs.rend());
  UnrollResult bwd = Unroll(g, b, reversed, b.ZeroState(g, kB));
  for (int t = 0; t < kT; ++t) {
    EXPECT_EQ(*r.outputs[t].ToVector<double>(),
              *Concat({fwd.outputs[t], bwd.outputs[kT - 1 - t]}, 1).ToVector<double>());
  }
  EXPECT_EQ(*r.backward_final.h.ToVector<double>(), *bwd.final.h.ToVector<double>());
}

TEST(StackTest, DropoutOnlyBetweenLayersAndOnlyWhenTraining) {
  ParameterStore store({.seed = 7});
  StackedRnnOptions o{.kind = CellKind::kLstm,
                      .input_size = kI,
                      .hidden_size = kH,
                      .num_layers = 2,
                      .dropout = 0.5};
  StackedRnn dropped = *StackedRnn::Create(store, o);
  o.dropout = 0;
  StackedRnn plain = *StackedRnn::Create(store, o);  // same parameters (GetOrAdd)
  auto run = [&](const StackedRnn& rnn, ExecMode mode, uint64_t seed) {
    Graph g({.mode = mode});
    Rng rng(seed);
    std::vector<Expr> xs =
        Steps(g.Input(kXs.shape, std::vector<float>(kXs.values.begin(), kXs.values.end())));
    return *rnn.Run(g, xs, {.rng = &rng}).outputs[kT - 1].ToVector<float>();
  };
  EXPECT_EQ(run(dropped, ExecMode::kEager, 1), run(dropped, ExecMode::kEager, 1));
  EXPECT_NE(run(dropped, ExecMode::kEager, 1), run(dropped, ExecMode::kEager, 2));
  EXPECT_NE(run(dropped, ExecMode::kEager, 1), run(plain, ExecMode::kEager, 1));
  EXPECT_EQ(run(dropped, ExecMode::kInference, 1), run(plain, ExecMode::kEager, 1));
  // One layer: nothing comes after it, so no dropout at all.
  o.num_layers = 1;
  StackedRnn one_plain = *StackedRnn::Create(store, o);
  o.dropout = 0.5;
  StackedRnn one_dropped = *StackedRnn::Create(store, o);
  EXPECT_EQ(run(one_dropped, ExecMode::kEager, 1), run(one_plain, ExecMode::kEager, 1));
}

std::vector<std::vector<double>> ValuesOf(absl::Span<const Expr> steps) {
  std::vector<std::vector<double>> out;
  for (Expr e : steps) out.push_back(*e.ToVector<double>());
  return out;
}

// all_layer_outputs: the last layer's list is the default result, and each layer's list is
// what that layer gives when run alone on the previous layer's list.
TEST(StackTest, AllLayerOutputsAreEachLayerRunOnThePreviousOnesOutputs) {
  ParameterStore store({.seed = 12});
  constexpr int kLayers = 3;
  StackedRnn rnn = *StackedRnn::Create(store, {.kind = CellKind::kLstm,
                                               .input_size = kI,
                                               .hidden_size = kH,
                                               .num_layers = kLayers,
                                               .bidirectional = true,
                                               .dtype = DType::kF64});
  Graph g;
  std::vector<Expr> xs = Steps(g.Input(kXs.shape, kXs.values));
  StackResult plain = rnn.Run(g, xs);
  StackResult all = rnn.Run(g, xs, {.all_layer_outputs = true});
  ASSERT_TRUE(g.status().ok()) << g.status();
  EXPECT_TRUE(plain.layer_outputs.empty());
  ASSERT_EQ(all.layer_outputs.size(), static_cast<size_t>(kLayers));
  EXPECT_EQ(ValuesOf(all.layer_outputs.back()), ValuesOf(plain.outputs));
  EXPECT_EQ(ValuesOf(all.outputs), ValuesOf(plain.outputs));
  std::vector<Expr> in = xs;
  for (int l = 0; l < kLayers; ++l) {
    CellSpec spec{.kind = CellKind::kLstm,
                  .recurrent = {.input_size = l == 0 ? kI : 2 * kH, .hidden_size = kH,
                                .layer = l, .dtype = DType::kF64}};
    AnyCell forward = *MakeCell(store, spec);  // binds to the stack's parameters
    spec.recurrent.reverse = true;
    AnyCell backward = *MakeCell(store, spec);
    BidirectionalResult alone = Bidirectional(forward, backward)
                                    .Run(g, in, forward.ZeroState(g, kB), backward.ZeroState(g, kB));
    ASSERT_EQ(all.layer_outputs[l].size(), static_cast<size_t>(kT));
    std::vector<std::vector<double>> got = ValuesOf(all.layer_outputs[l]),
                                     want = ValuesOf(alone.outputs);
    for (int t = 0; t < kT; ++t) {
      for (size_t j = 0; j < want[t].size(); ++j) {
        EXPECT_NEAR(got[t][j], want[t][j], 1e-15) << "layer " << l << " step " << t;
      }
    }
    in = alone.outputs;
  }
  EXPECT_EQ(store.num_parameters(), 4 * 2 * kLayers);  // MakeCell added nothing
}

// With dropout between layers, a layer's listed outputs are its own, before the dropout that
// the next layer's inputs went through.
TEST(StackTest, AllLayerOutputsAreTakenBeforeTheDropoutBetweenLayers) {
  ParameterStore store({.seed = 13});
  StackedRnnOptions o{.kind = CellKind::kGru,
                      .input_size = kI,
                      .hidden_size = kH,
                      .num_layers = 2,
                      .dropout = 0.5,
                      .dtype = DType::kF64};
  StackedRnn dropped = *StackedRnn::Create(store, o);
  o.dropout = 0;
  StackedRnn plain = *StackedRnn::Create(store, o);  // the same parameters
  Graph g;
  Rng rng(3);
  std::vector<Expr> xs = Steps(g.Input(kXs.shape, kXs.values));
  StackResult d = dropped.Run(g, xs, {.rng = &rng, .all_layer_outputs = true});
  StackResult p = plain.Run(g, xs, {.all_layer_outputs = true});
  ASSERT_TRUE(g.status().ok()) << g.status();
  EXPECT_EQ(ValuesOf(d.layer_outputs[0]), ValuesOf(p.layer_outputs[0]));
  EXPECT_NE(ValuesOf(d.layer_outputs[1]), ValuesOf(p.layer_outputs[1]));
  EXPECT_EQ(ValuesOf(d.layer_outputs[1]), ValuesOf(d.outputs));
}

TEST(StackTest, BadInitialStatesOrMissingRngAreErrors) {
  ParameterStore store;
  StackedRnn rnn = *StackedRnn::Create(store, {.kind = CellKind::kGru,
                                               .input_size = kI,
                                               .hidden_size = kH,
                                               .num_layers = 2,
                                               .dropout = 0.2});
  Graph g;
  std::vector<Expr> xs(kT, g.Fill({kB, kI}, 0.1));
  rnn.Run(g, xs, {.initial = {rnn.ZeroState(g, kB)[0]}});
  EXPECT_NE(g.status().message().find("1 initial states given, 2 needed"), std::string::npos)
      << g.status();
  Graph g2;
  std::vector<Expr> xs2(kT, g2.Fill({kB, kI}, 0.1));
  rnn.Run(g2, xs2);
  EXPECT_NE(g2.status().message().find("rng"), std::string::npos) << g2.status();
}

// ---- dropout ----

TEST(DropoutTest, SeededInvertedAndOffWhenP0OrInference) {
  Graph g;
  Expr x = g.Fill({4, 64}, 2.0);
  auto draw = [&](uint64_t seed, double p) {
    Rng rng(seed);
    return *Dropout(g, x, p, rng).ToVector<float>();
  };
  EXPECT_EQ(draw(1, 0.25), draw(1, 0.25));
  EXPECT_NE(draw(1, 0.25), draw(2, 0.25));
  for (float v : draw(1, 0.25)) EXPECT_TRUE(v == 0.0f || std::abs(v - 2.0f / 0.75f) < 1e-6);
  EXPECT_EQ(draw(1, 0.0), std::vector<float>(256, 2.0f));
  Rng rng(1);
  EXPECT_EQ(Dropout(g, x, 0.0, rng).id(), x.id());  // no node at all
  Graph inference({.mode = ExecMode::kInference});
  Expr xi = inference.Fill({4, 64}, 2.0);
  EXPECT_EQ(Dropout(inference, xi, 0.5, rng).id(), xi.id());
  Dropout(g, x, 1.0, rng);
  EXPECT_NE(g.status().message().find("[0, 1)"), std::string::npos) << g.status();
}

}  // namespace
}  // namespace tg
