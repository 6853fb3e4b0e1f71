#include "models/custom_cells.h"

#include <cmath>
#include <string>
#include <utility>

#include "base/status_macros.h"
#include "models/layers.h"
#include "ops/ops.h"

namespace tg {
namespace {

Init RecurrentInit(int64_t hidden) {
  double k = 1.0 / std::sqrt(static_cast<double>(hidden > 0 ? hidden : 1));
  return Init::Uniform(-k, k);
}

}  // namespace

absl::StatusOr<LayerNormLstmCell> LayerNormLstmCell::Create(ParameterStore& store,
                                                            const LayerNormLstmCellOptions& options) {
  const RecurrentOptions o = options.recurrent.WithDefaultPrefix("ln_lstm");
  const int64_t h = o.hidden_size;
  auto param = [&](const std::string& name, Shape shape, Init init) {
    return GetOrAddParam(store, name, std::move(shape), init, o.dtype);
  };
  LayerNormLstmCell cell;
  TG_ASSIGN_OR_RETURN(cell.weight_ih_,
                      param(o.ParamName("weight_ih"), {4 * h, o.input_size}, RecurrentInit(h)));
  TG_ASSIGN_OR_RETURN(cell.weight_hh_, param(o.ParamName("weight_hh"), {4 * h, h}, RecurrentInit(h)));
  const std::string gates = o.ParamName("ln_gates"), cell_ln = o.ParamName("ln_cell");
  // The bias is shifted only when created here: a clone or a loaded model keeps its values.
  const bool fresh_bias = !store.Find(gates + ".bias").ok();
  TG_ASSIGN_OR_RETURN(cell.gates_gain_, param(gates + ".weight", {4 * h}, Init::Constant(1)));
  TG_ASSIGN_OR_RETURN(cell.gates_bias_, param(gates + ".bias", {4 * h}, Init::Zeros()));
  if (fresh_bias && options.forget_bias != 0) {
    TG_RETURN_IF_ERROR(AddToForgetGateBias(store, gates + ".bias", h, options.forget_bias));
  }
  TG_ASSIGN_OR_RETURN(cell.cell_gain_, param(cell_ln + ".weight", {h}, Init::Constant(1)));
  TG_ASSIGN_OR_RETURN(cell.cell_bias_, param(cell_ln + ".bias", {h}, Init::Zeros()));
  cell.hidden_size_ = h;
  cell.eps_ = options.eps;
  return cell;
}

absl::StatusOr<LayerNormLstmCell> LayerNormLstmCell::Create(ParameterStore& store,
                                                            const RecurrentOptions& options) {
  return Create(store, LayerNormLstmCellOptions{.recurrent = options});
}

LayerNormLstmCell LayerNormLstmCell::WithWeights(WeightOverrides overrides) const {
  LayerNormLstmCell cell = *this;
  cell.overrides_ = std::move(overrides);
  return cell;
}

State LayerNormLstmCell::Step(Graph& g, Expr x, const State& s) const {
  auto scope = g.Scope("ln_lstm");
  auto w = [&](const Parameter& p) { return overrides_.Read(g, p); };
  Expr z = MatMul(x, w(weight_ih_), {.transpose_b = true}) +
           MatMul(s.h, w(weight_hh_), {.transpose_b = true});
  z = LayerNorm(z, w(gates_gain_), w(gates_bias_), eps_);
  auto [i, f, u, o] = Split<4>(z, /*axis=*/1);
  Expr c = Sigmoid(f) * s.c + Sigmoid(i) * Tanh(u);
  Expr c_norm = LayerNorm(c, w(cell_gain_), w(cell_bias_), eps_);
  return {.h = Sigmoid(o) * Tanh(c_norm), .c = c};
}

State LayerNormLstmCell::ZeroState(Graph& g, int64_t batch) const {
  DType dt = weight_hh_.valid() ? weight_hh_.dtype() : DType::kF32;
  return {.h = g.Fill({batch, hidden_size_}, 0.0, dt), .c = g.Fill({batch, hidden_size_}, 0.0, dt)};
}

absl::StatusOr<PeepholeLstmCell> PeepholeLstmCell::Create(ParameterStore& store,
                                                          const PeepholeLstmCellOptions& options) {
  const RecurrentOptions o = options.WithDefaultPrefix("peephole_lstm");
  PeepholeLstmCell cell;
  TG_ASSIGN_OR_RETURN(cell.weights_, RecurrentWeights::Create(store, o, /*gates=*/4));
  auto peephole = [&](const char* what) {
    return GetOrAddParam(store, o.ParamName(what), {o.hidden_size}, RecurrentInit(o.hidden_size),
                         o.dtype);
  };
  TG_ASSIGN_OR_RETURN(cell.peep_i_, peephole("weight_ci"));
  TG_ASSIGN_OR_RETURN(cell.peep_f_, peephole("weight_cf"));
  TG_ASSIGN_OR_RETURN(cell.peep_o_, peephole("weight_co"));
  return cell;
}

PeepholeLstmCell PeepholeLstmCell::WithWeights(WeightOverrides overrides) const {
  PeepholeLstmCell cell = *this;
  cell.overrides_ = std::move(overrides);
  return cell;
}

State PeepholeLstmCell::Step(Graph& g, Expr x, const State& s) const {
  auto scope = g.Scope("peephole_lstm");
  Expr z = weights_.InputProjection(g, x, overrides_) +
           weights_.HiddenProjection(g, s.h, overrides_);
  auto [zi, zf, zg, zo] = Split<4>(z, /*axis=*/1);
  Expr i = Sigmoid(zi + overrides_.Read(g, peep_i_) * s.c);
  Expr f = Sigmoid(zf + overrides_.Read(g, peep_f_) * s.c);
  Expr c = f * s.c + i * Tanh(zg);
  Expr o = Sigmoid(zo + overrides_.Read(g, peep_o_) * c);
  return {.h = o * Tanh(c), .c = c};
}

State PeepholeLstmCell::ZeroState(Graph& g, int64_t batch) const {
  return {.h = g.Fill({batch, hidden_size()}, 0.0, weights_.dtype()),
          .c = g.Fill({batch, hidden_size()}, 0.0, weights_.dtype())};
}

}  // namespace tg
