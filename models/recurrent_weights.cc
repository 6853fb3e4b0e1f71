#include "models/recurrent_weights.h"

#include <cmath>
#include <string_view>
#include <utility>
#include <vector>

#include "base/status_macros.h"
#include "models/layers.h"
#include "ops/ops.h"

namespace tg {

absl::Status AddToForgetGateBias(ParameterStore& store, const std::string& name, int64_t hidden,
                                 double amount) {
  TG_ASSIGN_OR_RETURN(std::vector<double> bias, store.Get(name));
  for (int64_t j = hidden; j < 2 * hidden; ++j) bias[j] += amount;
  return store.Set(name, bias);
}

absl::StatusOr<RecurrentWeights> RecurrentWeights::Create(ParameterStore& store,
                                                          const RecurrentOptions& o,
                                                          int64_t gates) {
  const int64_t rows = gates * o.hidden_size;
  // PyTorch: every weight and bias ~ U(-k, k), k = 1/sqrt(H).
  const double k = 1.0 / std::sqrt(static_cast<double>(o.hidden_size > 0 ? o.hidden_size : 1));
  const Init init = Init::Uniform(-k, k);
  auto param = [&](std::string_view what, Shape shape) {
    return GetOrAddParam(store, o.ParamName(what), std::move(shape), init, o.dtype);
  };
  RecurrentWeights w;
  TG_ASSIGN_OR_RETURN(w.weight_ih, param("weight_ih", {rows, o.input_size}));
  TG_ASSIGN_OR_RETURN(w.weight_hh, param("weight_hh", {rows, o.hidden_size}));
  TG_ASSIGN_OR_RETURN(w.bias_ih, param("bias_ih", {rows}));
  TG_ASSIGN_OR_RETURN(w.bias_hh, param("bias_hh", {rows}));
  return w;
}

Expr RecurrentWeights::InputProjection(Graph& g, Expr x, const WeightOverrides& overrides) const {
  return MatMul(x, overrides.Read(g, weight_ih), {.transpose_b = true}) +
         overrides.Read(g, bias_ih);
}

Expr RecurrentWeights::HiddenProjection(Graph& g, Expr h, const WeightOverrides& overrides) const {
  return MatMul(h, overrides.Read(g, weight_hh), {.transpose_b = true}) +
         overrides.Read(g, bias_hh);
}

}  // namespace tg
