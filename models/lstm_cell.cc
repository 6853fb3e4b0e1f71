#include "models/lstm_cell.h"

#include <string>
#include <utility>
#include <vector>

#include "base/status_macros.h"
#include "ops/ops.h"

namespace tg {

absl::StatusOr<LstmCell> LstmCell::Create(ParameterStore& store, const LstmCellOptions& options) {
  const RecurrentOptions o = options.recurrent.WithDefaultPrefix("lstm");
  // The bias is shifted only when created here: a clone or a loaded model keeps its values.
  const std::string bias_name = o.ParamName("bias_ih");
  const bool fresh = !store.Find(bias_name).ok();
  LstmCell cell;
  TG_ASSIGN_OR_RETURN(cell.weights_, RecurrentWeights::Create(store, o, /*gates=*/4));
  if (fresh && options.forget_bias != 0) {
    TG_RETURN_IF_ERROR(AddToForgetGateBias(store, bias_name, o.hidden_size, options.forget_bias));
  }
  return cell;
}

absl::StatusOr<LstmCell> LstmCell::Create(ParameterStore& store, const RecurrentOptions& options) {
  return Create(store, LstmCellOptions{.recurrent = options});
}

LstmCell LstmCell::WithWeights(WeightOverrides overrides) const {
  LstmCell cell = *this;
  cell.overrides_ = std::move(overrides);
  return cell;
}

State LstmCell::Step(Graph& g, Expr x, const State& s) const {
  auto scope = g.Scope("lstm");
  Expr z = weights_.InputProjection(g, x, overrides_) +
           weights_.HiddenProjection(g, s.h, overrides_);
  auto [i, f, u, o] = Split<4>(z, /*axis=*/1);
  Expr c = Sigmoid(f) * s.c + Sigmoid(i) * Tanh(u);
  return {.h = Sigmoid(o) * Tanh(c), .c = c};
}

State LstmCell::ZeroState(Graph& g, int64_t batch) const {
  return {.h = g.Fill({batch, hidden_size()}, 0.0, weights_.dtype()),
          .c = g.Fill({batch, hidden_size()}, 0.0, weights_.dtype())};
}

}  // namespace tg
