#include "models/gru_cell.h"

#include <utility>

#include "base/status_macros.h"
#include "ops/ops.h"

namespace tg {

absl::StatusOr<GruCell> GruCell::Create(ParameterStore& store, const GruCellOptions& options) {
  GruCell cell;
  TG_ASSIGN_OR_RETURN(cell.weights_, RecurrentWeights::Create(
                                         store, options.WithDefaultPrefix("gru"), /*gates=*/3));
  return cell;
}

GruCell GruCell::WithWeights(WeightOverrides overrides) const {
  GruCell cell = *this;
  cell.overrides_ = std::move(overrides);
  return cell;
}

State GruCell::Step(Graph& g, Expr x, const State& s) const {
  auto scope = g.Scope("gru");
  auto [xr, xz, xn] = Split<3>(weights_.InputProjection(g, x, overrides_), /*axis=*/1);
  auto [hr, hz, hn] = Split<3>(weights_.HiddenProjection(g, s.h, overrides_), /*axis=*/1);
  Expr r = Sigmoid(xr + hr);
  Expr z = Sigmoid(xz + hz);
  Expr n = Tanh(xn + r * hn);
  // (1 - z) * n + z * h, written with one multiply fewer.
  return {.h = n + z * (s.h - n), .c = Expr()};
}

State GruCell::ZeroState(Graph& g, int64_t batch) const {
  return {.h = g.Fill({batch, hidden_size()}, 0.0, weights_.dtype()), .c = Expr()};
}

}  // namespace tg
