// Agreement with PyTorch: nn.RNN (tanh, relu), nn.LSTM (1 and 2 layers, given h0/c0) and
// nn.GRU, in float64. tests/models/make_torch_refs.py wrote the reference files (inputs,
// state_dict weights, outputs and every gradient); the cells here load the same weights and
// must match each value to 1e-9 of itself plus 1e-12 of the tensor's largest magnitude.
#include <cmath>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "autodiff/backward.h"
#include "gtest/gtest.h"
#include "models/gru_cell.h"
#include "models/lstm_cell.h"
#include "models/rnn_cell.h"
#include "ops/ops.h"
#include "tests/expr_values.h"

namespace tg {
namespace {

using nlohmann::json;
using testing::Read;

json LoadReference(const std::string& name) {
  std::string dir = __FILE__;
  dir = dir.substr(0, dir.find_last_of('/'));
  std::ifstream in(dir + "/testdata/" + name + ".json");
  EXPECT_TRUE(in.good()) << "missing reference " << name;
  return json::parse(in);
}

Shape ShapeOf(const json& t) { return Shape(t["shape"].get<std::vector<int64_t>>()); }
std::vector<double> DataOf(const json& t) { return t["data"].get<std::vector<double>>(); }

void ExpectMatches(const std::string& what, const std::vector<double>& got, const json& want) {
  std::vector<double> ref = DataOf(want);
  ASSERT_EQ(got.size(), ref.size()) << what;
  double largest = 0;
  for (double v : ref) largest = std::max(largest, std::abs(v));
  for (size_t i = 0; i < ref.size(); ++i) {
    EXPECT_NEAR(got[i], ref[i], 1e-9 * std::abs(ref[i]) + 1e-12 * largest)
        << what << " element " << i;
  }
}

// The cell kind of a reference file, built on `store` for one layer.
absl::StatusOr<AnyCell> MakeCell(const json& ref, ParameterStore& store, int layer) {
  std::string module = ref["module"];
  int64_t in = layer == 0 ? ref["input_size"].get<int64_t>() : ref["hidden_size"].get<int64_t>();
  int64_t hidden = ref["hidden_size"];
  if (module == "LSTM") {
    return LstmCell::Create(store, {.input_size = in, .hidden_size = hidden, .prefix = "m",
                                    .layer = layer, .dtype = DType::kF64});
  }
  if (module == "GRU") {
    return GruCell::Create(store, {.input_size = in, .hidden_size = hidden, .prefix = "m",
                                   .layer = layer, .dtype = DType::kF64});
  }
  bool relu = ref["kwargs"].value("nonlinearity", "tanh") == "relu";
  return RnnCell::Create(store, {.input_size = in, .hidden_size = hidden, .prefix = "m",
                                 .layer = layer, .dtype = DType::kF64,
                                 .activation = relu ? RnnActivation::kRelu : RnnActivation::kTanh});
}

void CheckAgainstTorch(const std::string& name) {
  json ref = LoadReference(name);
  const int64_t T = ref["seq_len"], B = ref["batch"], H = ref["hidden_size"];
  const int layers = ref["num_layers"];
  const bool lstm = ref["module"] == "LSTM";
  ParameterStore store;
  std::vector<AnyCell> cells;
  for (int l = 0; l < layers; ++l) {
    absl::StatusOr<AnyCell> cell = MakeCell(ref, store, l);
    ASSERT_TRUE(cell.ok()) << cell.status();
    cells.push_back(*cell);
  }
  // Load PyTorch's state_dict: keys match ours after the module prefix.
  ASSERT_EQ(store.num_parameters(), static_cast<int64_t>(ref["params"].size()));
  for (auto& [key, t] : ref["params"].items()) {
    absl::StatusOr<Parameter> p = store.Find("m." + key);
    ASSERT_TRUE(p.ok()) << p.status();
    ASSERT_EQ(p->shape(), ShapeOf(t)) << key;
    std::vector<double> v = DataOf(t);
    std::copy(v.begin(), v.end(), p->value().data<double>());
  }

  Graph g;
  Expr x = g.Input(ShapeOf(ref["inputs"]["x"]), DataOf(ref["inputs"]["x"]), {.requires_grad = true});
  Expr h0 = g.Input(ShapeOf(ref["inputs"]["h0"]), DataOf(ref["inputs"]["h0"]), {.requires_grad = true});
  Expr c0 = lstm ? g.Input(ShapeOf(ref["inputs"]["c0"]), DataOf(ref["inputs"]["c0"]),
                           {.requires_grad = true})
                 : Expr();
  std::vector<Expr> layer_in;
  const int64_t I = ref["input_size"];
  for (Expr step : Split(x, static_cast<int>(T), 0)) layer_in.push_back(Reshape(step, {B, I}));
  std::vector<Expr> h_n, c_n;
  for (int l = 0; l < layers; ++l) {
    State s{.h = Reshape(Slice(h0, 0, l, l + 1), {B, H}),
            .c = lstm ? Reshape(Slice(c0, 0, l, l + 1), {B, H}) : Expr()};
    std::vector<Expr> outs;
    for (int64_t t = 0; t < T; ++t) {
      auto scope = g.Scope(fmt::format("step_{}", t));
      s = cells[l].Step(g, layer_in[t], s);
      outs.push_back(s.h);
    }
    h_n.push_back(s.h);
    if (lstm) c_n.push_back(s.c);
    layer_in = outs;
  }
  Expr output = Reshape(Concat(layer_in, 0), {T, B, H});
  Expr hn = Reshape(Concat(h_n, 0), {layers, B, H});
  const json& w = ref["loss_weights"];
  Expr loss = Sum(output * g.Constant(ShapeOf(w["output"]), DataOf(w["output"]))) +
              Sum(hn * g.Constant(ShapeOf(w["h_n"]), DataOf(w["h_n"])));
  Expr cn;
  if (lstm) {
    cn = Reshape(Concat(c_n, 0), {layers, B, H});
    loss = loss + Sum(cn * g.Constant(ShapeOf(w["c_n"]), DataOf(w["c_n"])));
  }
  ASSERT_TRUE(g.status().ok()) << g.status();
  ExpectMatches(name + " output", Read<double>(output), ref["outputs"]["output"]);
  ExpectMatches(name + " h_n", Read<double>(hn), ref["outputs"]["h_n"]);
  if (lstm) ExpectMatches(name + " c_n", Read<double>(cn), ref["outputs"]["c_n"]);

  std::vector<Expr> wrt = {x, h0};
  if (lstm) wrt.push_back(c0);
  absl::StatusOr<std::vector<Expr>> grads = Backward(loss, wrt);
  ASSERT_TRUE(grads.ok()) << grads.status();
  ExpectMatches(name + " dx", Read<double>((*grads)[0]), ref["grads"]["x"]);
  ExpectMatches(name + " dh0", Read<double>((*grads)[1]), ref["grads"]["h0"]);
  if (lstm) ExpectMatches(name + " dc0", Read<double>((*grads)[2]), ref["grads"]["c0"]);
  ASSERT_TRUE(Backward(loss).ok());
  for (auto& [key, t] : ref["grads"].items()) {
    if (key == "x" || key == "h0" || key == "c0") continue;
    Parameter p = *store.Find("m." + key);
    std::span<double> gr = p.grad().span<double>();
    ExpectMatches(name + " d" + key, std::vector<double>(gr.begin(), gr.end()), t);
  }
}

TEST(TorchAgreementTest, RnnTanh) { CheckAgainstTorch("rnn_tanh"); }
TEST(TorchAgreementTest, RnnRelu) { CheckAgainstTorch("rnn_relu"); }
TEST(TorchAgreementTest, Lstm1Layer) { CheckAgainstTorch("lstm_1layer"); }
TEST(TorchAgreementTest, Lstm2LayersWithInitialState) { CheckAgainstTorch("lstm_2layer"); }
TEST(TorchAgreementTest, Gru) { CheckAgainstTorch("gru"); }

}  // namespace
}  // namespace tg
