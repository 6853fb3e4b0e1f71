#include "models/rnn_cell.h"

#include <cmath>

#include "fmt/format.h"
#include "base/status_macros.h"
#include "models/layers.h"
#include "ops/ops.h"

namespace tg {

std::string RecurrentParamName(std::string_view prefix, std::string_view what, int layer,
                               bool reverse) {
  return fmt::format("{}.{}_l{}{}", prefix, what, layer, reverse ? "_reverse" : "");
}

absl::StatusOr<RecurrentWeights> RecurrentWeights::Create(ParameterStore& store,
                                                          const RecurrentWeightsOptions& o) {
  const int64_t rows = o.gates * o.hidden_size;
  // PyTorch: every weight and bias ~ U(-k, k), k = 1/sqrt(H).
  const double k = 1.0 / std::sqrt(static_cast<double>(o.hidden_size > 0 ? o.hidden_size : 1));
  const Init init = Init::Uniform(-k, k);
  auto param = [&](std::string_view what, Shape shape) {
    return GetOrAddParam(store, RecurrentParamName(o.prefix, what, o.layer, o.reverse),
                         std::move(shape), init, o.dtype);
  };
  RecurrentWeights w;
  TG_ASSIGN_OR_RETURN(w.weight_ih, param("weight_ih", {rows, o.input_size}));
  TG_ASSIGN_OR_RETURN(w.weight_hh, param("weight_hh", {rows, o.hidden_size}));
  TG_ASSIGN_OR_RETURN(w.bias_ih, param("bias_ih", {rows}));
  TG_ASSIGN_OR_RETURN(w.bias_hh, param("bias_hh", {rows}));
  return w;
}

Expr RecurrentWeights::InputProjection(Graph& g, Expr x) const {
  return MatMul(x, g.Param(weight_ih), {.transpose_b = true}) + g.Param(bias_ih);
}

Expr RecurrentWeights::HiddenProjection(Graph& g, Expr h) const {
  return MatMul(h, g.Param(weight_hh), {.transpose_b = true}) + g.Param(bias_hh);
}

absl::StatusOr<RnnCell> RnnCell::Create(ParameterStore& store, const RnnCellOptions& options) {
  RnnCell cell;
  TG_ASSIGN_OR_RETURN(cell.weights_,
                      RecurrentWeights::Create(store, WeightsOptionsOf(options, 1)));
  cell.activation_ = options.activation;
  return cell;
}

State RnnCell::Step(Graph& g, Expr x, const State& s) const {
  auto scope = g.Scope("rnn");
  Expr pre = weights_.InputProjection(g, x) + weights_.HiddenProjection(g, s.h);
  return {.h = activation_ == RnnActivation::kRelu ? Relu(pre) : Tanh(pre), .c = Expr()};
}

State RnnCell::ZeroState(Graph& g, int64_t batch) const {
  return {.h = g.Fill({batch, hidden_size()}, 0.0, weights_.dtype()), .c = Expr()};
}

}  // namespace tg
