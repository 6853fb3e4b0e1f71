#include "models/rnn_cell.h"

#include <utility>

#include "base/status_macros.h"
#include "ops/ops.h"

namespace tg {

absl::StatusOr<RnnCell> RnnCell::Create(ParameterStore& store, const RnnCellOptions& options) {
  RnnCell cell;
  TG_ASSIGN_OR_RETURN(
      cell.weights_,
      RecurrentWeights::Create(store, options.recurrent.WithDefaultPrefix("rnn"), /*gates=*/1));
  cell.activation_ = options.activation;
  return cell;
}

absl::StatusOr<RnnCell> RnnCell::Create(ParameterStore& store, const RecurrentOptions& options) {
  return Create(store, RnnCellOptions{.recurrent = options});
}

RnnCell RnnCell::WithWeights(WeightOverrides overrides) const {
  RnnCell cell = *this;
  cell.overrides_ = std::move(overrides);
  return cell;
}

State RnnCell::Step(Graph& g, Expr x, const State& s) const {
  auto scope = g.Scope("rnn");
  Expr pre = weights_.InputProjection(g, x, overrides_) +
             weights_.HiddenProjection(g, s.h, overrides_);
  return {.h = activation_ == RnnActivation::kRelu ? Relu(pre) : Tanh(pre), .c = Expr()};
}

State RnnCell::ZeroState(Graph& g, int64_t batch) const {
  return {.h = g.Fill({batch, hidden_size()}, 0.0, weights_.dtype()), .c = Expr()};
}

}  // namespace tg
