// The built-in and custom cells: finite-difference gradients through 4 BPTT steps (over the
// parameters and over the inputs), values against plain loops written from PyTorch's
// documented equations, PyTorch parameter names, and the CloneAs(kF64) check of an f32 model.
#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "autodiff/grad_check.h"
#include "fmt/format.h"
#include "base/random.h"
#include "gtest/gtest.h"
#include "models/custom_cells.h"
#include "models/gru_cell.h"
#include "models/layers.h"
#include "models/lstm_cell.h"
#include "models/rnn_cell.h"
#include "models/stack.h"
#include "ops/ops.h"
#include "testing/test_values.h"
#include "tests/models/grad_check_util.h"

namespace tg {
namespace {

using testing::UniformValues;

constexpr int kSteps = 4, kBatch = 3, kInput = 5, kHidden = 4;

using CellFactory = std::function<absl::StatusOr<AnyCell>(ParameterStore&, DType)>;

// Sum over steps of <h_t, K> (plus <c_T, K>): a loss that sees every step's output.
// in[0] = xs [T*B, I], in[1] = h0 [B,H], in[2] = c0 [B,H] when the cell has one.
Expr SequenceLoss(Graph& g, const AnyCell& cell, absl::Span<const Expr> in) {
  Expr k = HostConstant(g, {kBatch, kHidden}, UniformValues(kBatch * kHidden, 99), in[0].dtype());
  State s{.h = in[1], .c = in.size() > 2 ? in[2] : Expr()};
  Expr loss;
  for (int t = 0; t < kSteps; ++t) {
    auto scope = g.Scope(fmt::format("step_{}", t));
    s = cell.Step(g, Slice(in[0], 0, t * kBatch, (t + 1) * kBatch), s);
    Expr term = Sum(s.h * k);
    loss = loss.valid() ? loss + term : term;
  }
  return s.c.valid() ? loss + Sum(s.c * k) : loss;
}

std::vector<GradCheckInput> SequenceInputs(bool has_c, uint64_t seed) {
  std::vector<GradCheckInput> in = {
      {.shape = {kSteps * kBatch, kInput}, .values = UniformValues(kSteps * kBatch * kInput, seed)},
      {.shape = {kBatch, kHidden}, .values = UniformValues(kBatch * kHidden, seed + 1, 0.5)}};
  if (has_c) {
    in.push_back({.shape = {kBatch, kHidden}, .values = UniformValues(kBatch * kHidden, seed + 2)});
  }
  return in;
}

// Both forms of CheckGradients on an f64 store: over every parameter, then over xs, h0, c0.
void ExpectGradientsMatch(const CellFactory& make, bool has_c, uint64_t seed = 1) {
  ParameterStore store({.seed = seed});
  absl::StatusOr<AnyCell> cell = make(store, DType::kF64);
  ASSERT_TRUE(cell.ok()) << cell.status();
  test_util::ExpectGradientsMatch(
      store, SequenceInputs(has_c, seed + 10),
      [&](Graph& g, absl::Span<const Expr> in) { return SequenceLoss(g, *cell, in); });
}

CellFactory Rnn(RnnActivation act) {
  return [act](ParameterStore& st, DType dt) -> absl::StatusOr<AnyCell> {
    return RnnCell::Create(
        st, {.recurrent = {.input_size = kInput, .hidden_size = kHidden, .dtype = dt},
             .activation = act});
  };
}
absl::StatusOr<AnyCell> Lstm(ParameterStore& st, DType dt) {
  return LstmCell::Create(st, {.input_size = kInput, .hidden_size = kHidden, .dtype = dt});
}
absl::StatusOr<AnyCell> Gru(ParameterStore& st, DType dt) {
  return GruCell::Create(st, {.input_size = kInput, .hidden_size = kHidden, .dtype = dt});
}

TEST(CellTest, RnnTanhGradientsMatchFiniteDifferences) {
  ExpectGradientsMatch(Rnn(RnnActivation::kTanh), false);
}

TEST(CellTest, RnnReluGradientsMatchFiniteDifferences) {
  // relu has a kink at 0: first make sure no pre-activation of this seed is near it.
  ParameterStore store({.seed = 1});
  auto cell = RnnCell::Create(
      store, {.recurrent = {.input_size = kInput, .hidden_size = kHidden, .dtype = DType::kF64},
              .activation = RnnActivation::kRelu});
  ASSERT_TRUE(cell.ok());
  std::vector<GradCheckInput> in = SequenceInputs(false, 11);
  Graph g;
  Expr xs = g.Input(in[0].shape, in[0].values), h = g.Input(in[1].shape, in[1].values);
  double closest = 1e9;
  for (int t = 0; t < kSteps; ++t) {
    Expr x = Slice(xs, 0, t * kBatch, (t + 1) * kBatch);
    Expr pre = cell->weights().InputProjection(g, x) + cell->weights().HiddenProjection(g, h);
    std::vector<double> values = *pre.ToVector<double>();
    for (double v : values) closest = std::min(closest, std::abs(v));
    h = Relu(pre);
  }
  ASSERT_GT(closest, 1e-3) << "pick another seed: a pre-activation sits on relu's kink";
  ExpectGradientsMatch(Rnn(RnnActivation::kRelu), false);
}

TEST(CellTest, LstmGradientsMatchFiniteDifferences) { ExpectGradientsMatch(Lstm, true); }

TEST(CellTest, GruGradientsMatchFiniteDifferences) { ExpectGradientsMatch(Gru, false); }

TEST(CellTest, LayerNormLstmGradientsMatchFiniteDifferences) {
  ExpectGradientsMatch(
      [](ParameterStore& st, DType dt) -> absl::StatusOr<AnyCell> {
        return LayerNormLstmCell::Create(
            st, {.input_size = kInput, .hidden_size = kHidden, .dtype = dt});
      },
      true);
}

TEST(CellTest, PeepholeLstmGradientsMatchFiniteDifferences) {
  ExpectGradientsMatch(
      [](ParameterStore& st, DType dt) -> absl::StatusOr<AnyCell> {
        return PeepholeLstmCell::Create(
            st, {.input_size = kInput, .hidden_size = kHidden, .dtype = dt});
      },
      true);
}

// ---- values against loops written from PyTorch's documentation ----

using Matrix = std::vector<std::vector<double>>;  // [rows][cols]

Matrix Rows(const Parameter& p) {
  int64_t cols = p.shape().rank() == 2 ? p.shape()[1] : p.shape()[0];
  int64_t rows = p.shape().rank() == 2 ? p.shape()[0] : 1;
  Matrix m(rows, std::vector<double>(cols));
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) m[r][c] = p.value().data<double>()[r * cols + c];
  return m;
}

// Row j of (v W^T + b) for one example.
double Affine(const std::vector<double>& v, const Matrix& w, const Matrix& b, int64_t j) {
  double s = b[0][j];
  for (size_t k = 0; k < v.size(); ++k) s += v[k] * w[j][k];
  return s;
}

double Sig(double v) { return 1 / (1 + std::exp(-v)); }

// One step for example 0, from the formulas in torch.nn.{RNN,LSTM,GRU}'s documentation.
void ReferenceStep(char kind, const RecurrentWeights& w, const std::vector<double>& x,
                   std::vector<double>& h, std::vector<double>& c) {
  Matrix wi = Rows(w.weight_ih), wh = Rows(w.weight_hh), bi = Rows(w.bias_ih), bh = Rows(w.bias_hh);
  const int64_t n = static_cast<int64_t>(h.size());
  std::vector<double> h2(n), c2(n);
  auto gi = [&](int64_t j) { return Affine(x, wi, bi, j); };
  auto gh = [&](int64_t j) { return Affine(h, wh, bh, j); };
  for (int64_t j = 0; j < n; ++j) {
    if (kind == 'r') {
      h2[j] = std::tanh(gi(j) + gh(j));
    } else if (kind == 'l') {
      double i = Sig(gi(j) + gh(j)), f = Sig(gi(n + j) + gh(n + j));
      double u = std::tanh(gi(2 * n + j) + gh(2 * n + j)), o = Sig(gi(3 * n + j) + gh(3 * n + j));
      c2[j] = f * c[j] + i * u;
      h2[j] = o * std::tanh(c2[j]);
    } else {
      double r = Sig(gi(j) + gh(j)), z = Sig(gi(n + j) + gh(n + j));
      double nn = std::tanh(gi(2 * n + j) + r * gh(2 * n + j));
      h2[j] = (1 - z) * nn + z * h[j];
    }
  }
  h = h2;
  c = c2;
}

void ExpectMatchesReference(char kind, const CellFactory& make) {
  ParameterStore store({.seed = 3});
  absl::StatusOr<AnyCell> cell = make(store, DType::kF64);
  ASSERT_TRUE(cell.ok()) << cell.status();
  const RecurrentWeights* w = kind == 'r'   ? &cell->As<RnnCell>()->weights()
                              : kind == 'l' ? &cell->As<LstmCell>()->weights()
                                            : &cell->As<GruCell>()->weights();
  std::vector<GradCheckInput> in = SequenceInputs(kind == 'l', 4);
  Graph g;
  State s{.h = g.Input(in[1].shape, in[1].values),
          .c = kind == 'l' ? g.Input(in[2].shape, in[2].values) : Expr()};
  std::vector<double> h(in[1].values.begin(), in[1].values.begin() + kHidden), c(kHidden);
  if (kind == 'l') c.assign(in[2].values.begin(), in[2].values.begin() + kHidden);
  Expr xs = g.Input(in[0].shape, in[0].values);
  for (int t = 0; t < kSteps; ++t) {
    s = cell->Step(g, Slice(xs, 0, t * kBatch, (t + 1) * kBatch), s);
    std::vector<double> x(in[0].values.begin() + t * kBatch * kInput,
                          in[0].values.begin() + (t * kBatch + 1) * kInput);
    ReferenceStep(kind, *w, x, h, c);
  }
  std::vector<double> got = *s.h.ToVector<double>();
  for (int j = 0; j < kHidden; ++j) EXPECT_NEAR(got[j], h[j], 1e-12) << kind << " h " << j;
  if (kind == 'l') {
    std::vector<double> got_c = *s.c.ToVector<double>();
    for (int j = 0; j < kHidden; ++j) EXPECT_NEAR(got_c[j], c[j], 1e-12) << "c " << j;
  }
}

TEST(CellTest, RnnMatchesPyTorchEquations) {
  ExpectMatchesReference('r', Rnn(RnnActivation::kTanh));
}
TEST(CellTest, LstmMatchesPyTorchEquations) { ExpectMatchesReference('l', Lstm); }
TEST(CellTest, GruMatchesPyTorchEquations) { ExpectMatchesReference('g', Gru); }

// ---- parameters ----

TEST(CellTest, ParametersHavePyTorchNamesShapesAndInit) {
  ParameterStore store({.seed = 7});
  ASSERT_TRUE(
      GruCell::Create(
          store,
          {.input_size = 6, .hidden_size = 16, .prefix = "enc.gru", .layer = 1, .reverse = true})
          .ok());
  std::vector<std::pair<std::string, Shape>> want = {{"enc.gru.weight_ih_l1_reverse", {48, 6}},
                                                     {"enc.gru.weight_hh_l1_reverse", {48, 16}},
                                                     {"enc.gru.bias_ih_l1_reverse", {48}},
                                                     {"enc.gru.bias_hh_l1_reverse", {48}}};
  ASSERT_EQ(store.num_parameters(), 4);
  for (size_t i = 0; i < want.size(); ++i) {
    Parameter p = store.parameters()[i];
    EXPECT_EQ(p.name(), want[i].first);
    EXPECT_EQ(p.shape(), want[i].second) << p.name();
    for (float v : p.value().span<float>())
      EXPECT_LE(std::abs(v), 0.25f) << p.name();  // 1/sqrt(16)
  }
}

// RecurrentOptions with no prefix: each cell's parameters are named after the cell, as its
// options' default was before they shared one struct; MakeCell's stacks default to "rnn".
TEST(CellTest, AnEmptyPrefixNamesParametersAfterTheCell) {
  const RecurrentOptions o{.input_size = 3, .hidden_size = 2, .layer = 1};
  auto first_name = [](auto created, const ParameterStore& store) {
    EXPECT_TRUE(created.ok()) << created.status();
    return store.parameters().empty() ? std::string() : store.parameters()[0].name();
  };
  ParameterStore a, b, c, d, e, f;
  EXPECT_EQ(first_name(RnnCell::Create(a, o), a), "rnn.weight_ih_l1");
  EXPECT_EQ(first_name(LstmCell::Create(b, o), b), "lstm.weight_ih_l1");
  EXPECT_EQ(first_name(GruCell::Create(c, o), c), "gru.weight_ih_l1");
  EXPECT_EQ(first_name(LayerNormLstmCell::Create(d, o), d), "ln_lstm.weight_ih_l1");
  EXPECT_EQ(first_name(PeepholeLstmCell::Create(e, o), e), "peephole_lstm.weight_ih_l1");
  EXPECT_EQ(first_name(MakeCell(f, {.kind = CellKind::kGru, .recurrent = o}), f),
            "rnn.weight_ih_l1");
  EXPECT_EQ(d.parameters()[2].name(), "ln_lstm.ln_gates_l1.weight");
  EXPECT_EQ(e.parameters()[6].name(), "peephole_lstm.weight_co_l1");
}

// A `Cell` of input 3 and hidden 2 made with `Options::forget_bias` 1: its gate bias
// `bias_name` must differ from a forget_bias-0 cell's by 1 on the forget slice [2, 4) only,
// and binding the cell again must leave it alone.
template <class Cell, class Options>
void ExpectForgetBiasShiftsOnlyTheForgetSliceOfAFreshBias(const std::string& bias_name) {
  auto create = [](ParameterStore& store, double forget_bias) {
    Options options;
    options.recurrent = {.input_size = 3, .hidden_size = 2};
    options.forget_bias = forget_bias;
    return Cell::Create(store, options).status();
  };
  ParameterStore a({.seed = 2}), b({.seed = 2});
  ASSERT_TRUE(create(a, 0).ok());
  ASSERT_TRUE(create(b, 1).ok());
  std::span<float> pa = a.Find(bias_name)->value().span<float>();
  std::span<float> pb = b.Find(bias_name)->value().span<float>();
  for (int j = 0; j < 8; ++j) EXPECT_FLOAT_EQ(pb[j] - pa[j], j >= 2 && j < 4 ? 1.0f : 0.0f);
  // Binding again (GetOrAdd) leaves the values alone.
  ASSERT_TRUE(create(b, 1).ok());
  EXPECT_FLOAT_EQ(pb[2] - pa[2], 1.0f);
}

TEST(CellTest, ForgetBiasShiftsOnlyTheForgetSliceOfFreshParameters) {
  ExpectForgetBiasShiftsOnlyTheForgetSliceOfAFreshBias<LstmCell, LstmCellOptions>(
      "lstm.bias_ih_l0");
}

TEST(CellTest, LayerNormLstmForgetBiasShiftsOnlyTheForgetSliceOfItsFreshGateBias) {
  ExpectForgetBiasShiftsOnlyTheForgetSliceOfAFreshBias<LayerNormLstmCell,
                                                       LayerNormLstmCellOptions>(
      "ln_lstm.ln_gates_l0.bias");
}

TEST(CellTest, F32ModelIsGradientCheckedInF64ThroughCloneAs) {
  ParameterStore store({.seed = 5});
  ASSERT_TRUE(Lstm(store, DType::kF32).ok());
  ParameterStore f64 = *store.CloneAs(DType::kF64);
  absl::StatusOr<AnyCell> cell = Lstm(f64, DType::kF64);  // binds to the copies, adds nothing
  ASSERT_TRUE(cell.ok()) << cell.status();
  EXPECT_EQ(f64.num_parameters(), store.num_parameters());
  EXPECT_EQ(f64.Find("lstm.weight_hh_l0")->value().data<double>()[3],
            static_cast<double>(store.Find("lstm.weight_hh_l0")->value().data<float>()[3]));
  std::vector<GradCheckInput> in = SequenceInputs(true, 21);
  absl::Status s = CheckGradients(f64, [&](Graph& g) {
    return SequenceLoss(g, *cell,
                        {g.Input(in[0].shape, in[0].values), g.Input(in[1].shape, in[1].values),
                         g.Input(in[2].shape, in[2].values)});
  });
  EXPECT_TRUE(s.ok()) << s;
  // Asking for f64 on the f32 store itself names the parameter.
  absl::StatusOr<AnyCell> wrong = Lstm(store, DType::kF64);
  EXPECT_EQ(wrong.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(wrong.status().message().find("lstm.weight_ih_l0"), std::string::npos)
      << wrong.status();
}

TEST(CellTest, ShapeMismatchWithAnExistingParameterNamesIt) {
  ParameterStore store;
  ASSERT_TRUE(Gru(store, DType::kF32).ok());
  auto again = GruCell::Create(store, {.input_size = kInput + 1, .hidden_size = kHidden});
  ASSERT_FALSE(again.ok());
  EXPECT_NE(again.status().message().find("gru.weight_ih_l0"), std::string::npos);
}

TEST(CellTest, AnyCellCopiesAndDispatches) {
  ParameterStore store;
  AnyCell a = *Lstm(store, DType::kF32);
  AnyCell b = a;  // copies the handle, shares the parameters
  EXPECT_EQ(b.hidden_size(), kHidden);
  EXPECT_NE(b.As<LstmCell>(), nullptr);
  EXPECT_EQ(b.As<GruCell>(), nullptr);
  Graph g;
  State s = b.ZeroState(g, 2);
  EXPECT_EQ(s.c.shape(), (Shape{2, kHidden}));
  EXPECT_TRUE(AnyCell().empty());
}

}  // namespace
}  // namespace tg
