// Built-in cells and layers on weights given as graph values (WithWeights), up to a one-step
// MAML update through an LSTM and a Linear head, differentiated through the inner gradient.
#include "models/weight_overrides.h"

#include <cmath>
#include <vector>

#include "autodiff/backward.h"
#include "autodiff/grad_check.h"
#include "graph/compile/compiled_graph.h"
#include "gtest/gtest.h"
#include "models/custom_cells.h"
#include "models/gru_cell.h"
#include "models/layers.h"
#include "models/lstm_cell.h"
#include "models/rnn_cell.h"
#include "models/unroll.h"
#include "ops/ops.h"

namespace tg {
namespace {

constexpr int kT = 3, kB = 2, kI = 2, kH = 3;

std::vector<double> Draw(int64_t n, uint64_t seed) {
  Rng rng(seed);
  std::vector<double> v(n);
  for (double& x : v) x = rng.Uniform(-1, 1);
  return v;
}

std::vector<Expr> Sequence(Graph& g, uint64_t seed) {
  return SplitSteps(g.Input({kT, kB, kI}, Draw(kT * kB * kI, seed)));
}

// Scales every value of `p` by `factor` in the store.
void Scale(ParameterStore& store, const Parameter& p, double factor) {
  std::vector<double> v = *store.Get(p.name());
  for (double& x : v) x *= factor;
  ASSERT_TRUE(store.Set(p.name(), v).ok());
}

// Each cell run WithWeights(2 * W for every W) equals the cell on a store whose values were
// doubled: every parameter is read through the overrides, none straight from the store.
template <class C>
void ExpectOverridesReplaceEveryParameter(absl::StatusOr<C> (*create)(ParameterStore&)) {
  ParameterStore store({.seed = 3});
  absl::StatusOr<C> cell = create(store);
  ASSERT_TRUE(cell.ok()) << cell.status();
  ParameterStore doubled = *store.CloneAs(DType::kF64);
  absl::StatusOr<C> reference = create(doubled);  // binds to the copies
  ASSERT_TRUE(reference.ok()) << reference.status();
  for (const Parameter& p : doubled.parameters()) Scale(doubled, p, 2.0);

  Graph g;
  std::vector<Expr> xs = Sequence(g, 4);
  WeightOverrides twice;
  for (const Parameter& p : store.parameters()) twice.Set(p, g.Param(p) * 2.0);
  EXPECT_EQ(twice.size(), store.num_parameters());
  const C fast = cell->WithWeights(twice);
  std::vector<double> got =
      *Unroll(g, fast, xs, fast.ZeroState(g, kB)).final.h.template ToVector<double>();
  std::vector<double> want =
      *Unroll(g, *reference, xs, reference->ZeroState(g, kB)).final.h.template ToVector<double>();
  std::vector<double> plain =
      *Unroll(g, *cell, xs, cell->ZeroState(g, kB)).final.h.template ToVector<double>();
  ASSERT_TRUE(g.status().ok()) << g.status();
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], want[i], 1e-14) << i;
  EXPECT_NE(got, plain);  // the original cell still reads the store
}

RecurrentOptions Options() { return {.input_size = kI, .hidden_size = kH, .dtype = DType::kF64}; }

TEST(WeightOverridesTest, EveryCellReadsEachOfItsParametersThroughTheOverrides) {
  ExpectOverridesReplaceEveryParameter<RnnCell>(
      [](ParameterStore& s) { return RnnCell::Create(s, Options()); });
  ExpectOverridesReplaceEveryParameter<LstmCell>(
      [](ParameterStore& s) { return LstmCell::Create(s, Options()); });
  ExpectOverridesReplaceEveryParameter<GruCell>(
      [](ParameterStore& s) { return GruCell::Create(s, Options()); });
  ExpectOverridesReplaceEveryParameter<LayerNormLstmCell>(
      [](ParameterStore& s) { return LayerNormLstmCell::Create(s, Options()); });
  ExpectOverridesReplaceEveryParameter<PeepholeLstmCell>(
      [](ParameterStore& s) { return PeepholeLstmCell::Create(s, Options()); });
}

TEST(WeightOverridesTest, LinearAndEmbeddingReadTheirOverrides) {
  ParameterStore store({.seed = 5});
  Linear head = *Linear::Create(
      store, {.in_features = 2, .out_features = 3, .prefix = "head", .dtype = DType::kF64});
  EmbeddingLayer table = *EmbeddingLayer::Create(
      store, {.num_embeddings = 4, .embedding_dim = 2, .dtype = DType::kF64});
  Graph g;
  WeightOverrides o;
  o.Set(head.weight(), g.Fill({3, 2}, 0.0, DType::kF64));  // bias stays the stored one
  o.Set(table.weight(), g.Fill({4, 2}, 0.5, DType::kF64));
  Expr x = g.Input({1, 2}, std::vector<double>{1.0, -2.0});
  EXPECT_EQ(*head.WithWeights(o)(g, x).ToVector<double>(), *store.Get("head.bias"));
  Expr ids = g.Input({2}, std::vector<int32_t>{3, 1});
  EXPECT_EQ(*table.WithWeights(o)(g, ids).ToVector<double>(), std::vector<double>(4, 0.5));
  EXPECT_NE(*table(g, ids).ToVector<double>(), std::vector<double>(4, 0.5));
  EXPECT_TRUE(o.contains(head.weight()));
  EXPECT_FALSE(o.contains(head.bias()));
}

TEST(WeightOverridesTest, AValueOfTheWrongShapeOrGraphNamesTheParameter) {
  ParameterStore store;
  LstmCell cell = *LstmCell::Create(store, {.input_size = kI, .hidden_size = kH});
  {
    Graph g;
    WeightOverrides o;
    o.Set(cell.weights().weight_hh, g.Fill({kH, 4 * kH}, 0.0));  // transposed
    LstmCell fast = cell.WithWeights(o);
    fast.Step(g, g.Fill({kB, kI}, 1.0), fast.ZeroState(g, kB));
    const std::string message(g.status().message());
    EXPECT_EQ(g.status().code(), absl::StatusCode::kInvalidArgument);
    for (const char* part : {"lstm.weight_hh_l0", "[3,12]", "[12,3]"}) {
      EXPECT_NE(message.find(part), std::string::npos) << part << " in " << message;
    }
  }
  Graph other, g;
  WeightOverrides o;
  o.Set(cell.weights().bias_ih, other.Fill({4 * kH}, 0.0));
  cell.WithWeights(o).Step(g, g.Fill({kB, kI}, 1.0), cell.ZeroState(g, kB));
  EXPECT_NE(g.status().message().find("'lstm.bias_ih_l0' does not belong to this graph"),
            std::string::npos)
      << g.status();
}

// The model of the MAML test: an LSTM over the sequence, a Linear on its last h, MSE.
struct Model {
  LstmCell cell;
  Linear head;
};

Expr TaskLoss(Graph& g, const LstmCell& cell, const Linear& head, uint64_t seed) {
  std::vector<Expr> xs = Sequence(g, seed);
  Expr target = g.Input({kB, 1}, Draw(kB, seed + 100));
  return MseLoss(head(g, Unroll(g, cell, xs, cell.ZeroState(g, kB)).final.h), target);
}

// One MAML step: w' = w - alpha * dL_train/dw (a differentiable graph, create_graph), then
// the validation loss of the model on w'. Its gradient with respect to w goes through the
// inner gradient, so it holds second derivatives of L_train.
Expr MamlLoss(Graph& g, ParameterStore& store, const Model& m, double alpha) {
  std::vector<Parameter> params = store.parameters();
  std::vector<Expr> w;
  for (const Parameter& p : params) w.push_back(g.Param(p));
  Expr train = TaskLoss(g, m.cell, m.head, /*seed=*/11);
  absl::StatusOr<std::vector<Expr>> grads = Backward(train, w, {.create_graph = true});
  if (!grads.ok()) {
    g.RecordError(grads.status());
    return train;
  }
  WeightOverrides fast;
  for (size_t i = 0; i < params.size(); ++i) fast.Set(params[i], w[i] - alpha * (*grads)[i]);
  return TaskLoss(g, m.cell.WithWeights(fast), m.head.WithWeights(fast), /*seed=*/12);
}

Model MakeModel(ParameterStore& store) {
  return {*LstmCell::Create(store, Options()),
          *Linear::Create(store, {.in_features = kH, .out_features = 1, .prefix = "head",
                                  .dtype = DType::kF64})};
}

TEST(WeightOverridesTest, OneStepMamlThroughLstmAndLinearMatchesFiniteDifferences) {
  ParameterStore store({.seed = 9});
  const Model m = MakeModel(store);
  ASSERT_EQ(store.num_parameters(), 6);
  absl::Status s = CheckGradients(store, [&](Graph& g) { return MamlLoss(g, store, m, 0.5); },
                                  {.max_coords_per_param = 1000});
  EXPECT_TRUE(s.ok()) << s;
}

// The check above would also pass for a first-order method if the second-order term were
// tiny; here it is not: the MAML gradient differs from the first-order one (the validation
// gradient at w', what Backward gives when the inner gradient is a constant).
TEST(WeightOverridesTest, MamlGradientDiffersFromTheFirstOrderApproximation) {
  ParameterStore store({.seed = 9});
  const Model m = MakeModel(store);
  std::vector<Parameter> params = store.parameters();
  Graph g;
  std::vector<Expr> w;
  for (const Parameter& p : params) w.push_back(g.Param(p));
  Expr maml = MamlLoss(g, store, m, 0.5);
  auto full = Backward(maml, w);
  ASSERT_TRUE(full.ok()) << full.status();
  // First order: the inner gradient enters as a constant (no create_graph).
  auto inner = Backward(TaskLoss(g, m.cell, m.head, 11), w);
  ASSERT_TRUE(inner.ok()) << inner.status();
  WeightOverrides fast;
  for (size_t i = 0; i < params.size(); ++i) fast.Set(params[i], w[i] - 0.5 * (*inner)[i]);
  auto first = Backward(TaskLoss(g, m.cell.WithWeights(fast), m.head.WithWeights(fast), 12), w);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_NEAR(*maml.Scalar(),
              *TaskLoss(g, m.cell.WithWeights(fast), m.head.WithWeights(fast), 12).Scalar(),
              1e-14);  // the same w' either way
  double largest_difference = 0;
  for (size_t i = 0; i < params.size(); ++i) {
    std::vector<double> a = *(*full)[i].ToVector<double>(), b = *(*first)[i].ToVector<double>();
    for (size_t j = 0; j < a.size(); ++j) {
      largest_difference = std::max(largest_difference, std::abs(a[j] - b[j]));
    }
  }
  EXPECT_GT(largest_difference, 1e-3);
}

// The MAML update recorded and compiled (the inner gradient is ordinary nodes, so the
// compiler sees one graph) gives the eager loss and parameter gradients.
TEST(WeightOverridesTest, CompiledMamlStepMatchesEager) {
  ParameterStore store({.seed = 9});
  const Model m = MakeModel(store);
  auto gradients = [&] {
    std::vector<std::vector<double>> out;
    for (const Parameter& p : store.parameters()) {
      std::span<const double> gr = p.grad().span<double>();
      out.emplace_back(gr.begin(), gr.end());
    }
    return out;
  };
  Graph eager;
  Expr eager_loss = MamlLoss(eager, store, m, 0.5);
  ASSERT_TRUE(Backward(eager_loss).ok());
  const std::vector<std::vector<double>> want = gradients();
  store.ZeroGrad();

  Graph recorded({.mode = ExecMode::kRecord});
  Expr loss = MamlLoss(recorded, store, m, 0.5);
  ASSERT_TRUE(Backward(loss).ok());
  absl::StatusOr<CompiledGraph> step = Compile(recorded, {.feeds = {}, .outputs = {loss}});
  ASSERT_TRUE(step.ok()) << step.status();
  ASSERT_TRUE(step->Run({}).ok());
  EXPECT_NEAR(step->output(0).data<double>()[0], *eager_loss.Scalar(), 1e-14);
  const std::vector<std::vector<double>> got = gradients();
  ASSERT_EQ(got.size(), want.size());
  for (size_t k = 0; k < got.size(); ++k) {
    for (size_t i = 0; i < got[k].size(); ++i) {
      EXPECT_NEAR(got[k][i], want[k][i], 1e-13 * (1 + std::abs(want[k][i]))) << k << " " << i;
    }
  }
}

}  // namespace
}  // namespace tg
