#include "models/custom_cells.h"

#include <cmath>

#include "fmt/format.h"
#include "base/status_macros.h"
#include "models/layers.h"
#include "ops/ops.h"

namespace tg {
namespace {

std::string Suffix(int layer, bool reverse) {
  return fmt::format("_l{}{}", layer, reverse ? "_reverse" : "");
}

Init RecurrentInit(int64_t hidden) {
  double k = 1.0 / std::sqrt(static_cast<double>(hidden > 0 ? hidden : 1));
  return Init::Uniform(-k, k);
}

}  // namespace

absl::StatusOr<LayerNormLstmCell> LayerNormLstmCell::Create(ParameterStore& store,
                                                            const LayerNormLstmCellOptions& o) {
  const std::string s = Suffix(o.layer, o.reverse);
  const int64_t h = o.hidden_size;
  auto param = [&](const std::string& name, Shape shape, Init init) {
    return GetOrAddParam(store, o.prefix + "." + name, std::move(shape), init, o.dtype);
  };
  LayerNormLstmCell cell;
  TG_ASSIGN_OR_RETURN(cell.weight_ih_,
                      param("weight_ih" + s, {4 * h, o.input_size}, RecurrentInit(h)));
  TG_ASSIGN_OR_RETURN(cell.weight_hh_, param("weight_hh" + s, {4 * h, h}, RecurrentInit(h)));
  TG_ASSIGN_OR_RETURN(cell.gates_gain_,
                      param("ln_gates" + s + ".weight", {4 * h}, Init::Constant(1)));
  TG_ASSIGN_OR_RETURN(cell.gates_bias_, param("ln_gates" + s + ".bias", {4 * h}, Init::Zeros()));
  TG_ASSIGN_OR_RETURN(cell.cell_gain_, param("ln_cell" + s + ".weight", {h}, Init::Constant(1)));
  TG_ASSIGN_OR_RETURN(cell.cell_bias_, param("ln_cell" + s + ".bias", {h}, Init::Zeros()));
  cell.hidden_size_ = h;
  cell.eps_ = o.eps;
  return cell;
}

State LayerNormLstmCell::Step(Graph& g, Expr x, const State& s) const {
  auto scope = g.Scope("ln_lstm");
  Expr z = MatMul(x, g.Param(weight_ih_), {.transpose_b = true}) +
           MatMul(s.h, g.Param(weight_hh_), {.transpose_b = true});
  z = LayerNorm(z, g.Param(gates_gain_), g.Param(gates_bias_), eps_);
  auto [i, f, u, o] = Split<4>(z, /*axis=*/1);
  Expr c = Sigmoid(f) * s.c + Sigmoid(i) * Tanh(u);
  Expr c_norm = LayerNorm(c, g.Param(cell_gain_), g.Param(cell_bias_), eps_);
  return {.h = Sigmoid(o) * Tanh(c_norm), .c = c};
}

State LayerNormLstmCell::ZeroState(Graph& g, int64_t batch) const {
  DType dt = weight_hh_.valid() ? weight_hh_.dtype() : DType::kF32;
  return {.h = g.Fill({batch, hidden_size_}, 0.0, dt), .c = g.Fill({batch, hidden_size_}, 0.0, dt)};
}

absl::StatusOr<PeepholeLstmCell> PeepholeLstmCell::Create(ParameterStore& store,
                                                          const PeepholeLstmCellOptions& o) {
  PeepholeLstmCell cell;
  TG_ASSIGN_OR_RETURN(cell.weights_, RecurrentWeights::Create(store, WeightsOptionsOf(o, 4)));
  const std::string s = Suffix(o.layer, o.reverse);
  auto peephole = [&](const char* name) {
    return GetOrAddParam(store, o.prefix + "." + name + s, {o.hidden_size},
                         RecurrentInit(o.hidden_size), o.dtype);
  };
  TG_ASSIGN_OR_RETURN(cell.peep_i_, peephole("weight_ci"));
  TG_ASSIGN_OR_RETURN(cell.peep_f_, peephole("weight_cf"));
  TG_ASSIGN_OR_RETURN(cell.peep_o_, peephole("weight_co"));
  return cell;
}

State PeepholeLstmCell::Step(Graph& g, Expr x, const State& s) const {
  auto scope = g.Scope("peephole_lstm");
  Expr z = weights_.InputProjection(g, x) + weights_.HiddenProjection(g, s.h);
  auto [zi, zf, zg, zo] = Split<4>(z, /*axis=*/1);
  Expr i = Sigmoid(zi + g.Param(peep_i_) * s.c);
  Expr f = Sigmoid(zf + g.Param(peep_f_) * s.c);
  Expr c = f * s.c + i * Tanh(zg);
  Expr o = Sigmoid(zo + g.Param(peep_o_) * c);
  return {.h = o * Tanh(c), .c = c};
}

State PeepholeLstmCell::ZeroState(Graph& g, int64_t batch) const {
  return {.h = g.Fill({batch, hidden_size()}, 0.0, weights_.dtype()),
          .c = g.Fill({batch, hidden_size()}, 0.0, weights_.dtype())};
}

}  // namespace tg
