#include "models/lstm_cell.h"

#include "base/status_macros.h"
#include "ops/ops.h"

namespace tg {
namespace {

// Adds `v` to elements [begin, end) of a 1-D f32 or f64 parameter.
void AddToRange(const Parameter& p, int64_t begin, int64_t end, double v) {
  Tensor t = p.value();
  for (int64_t i = begin; i < end; ++i) {
    if (t.dtype() == DType::kF32) {
      t.data<float>()[i] += static_cast<float>(v);
    } else {
      t.data<double>()[i] += v;
    }
  }
}

}  // namespace

absl::StatusOr<LstmCell> LstmCell::Create(ParameterStore& store, const LstmCellOptions& options) {
  // The bias is shifted only when created here: a clone or a loaded model keeps its values.
  const bool fresh =
      !store.Find(RecurrentParamName(options.prefix, "bias_ih", options.layer, options.reverse))
           .ok();
  LstmCell cell;
  TG_ASSIGN_OR_RETURN(cell.weights_,
                      RecurrentWeights::Create(store, WeightsOptionsOf(options, 4)));
  if (fresh && options.forget_bias != 0) {
    const int64_t h = options.hidden_size;
    AddToRange(cell.weights_.bias_ih, h, 2 * h, options.forget_bias);
  }
  return cell;
}

State LstmCell::Step(Graph& g, Expr x, const State& s) const {
  auto scope = g.Scope("lstm");
  Expr z = weights_.InputProjection(g, x) + weights_.HiddenProjection(g, s.h);
  auto [i, f, u, o] = Split<4>(z, /*axis=*/1);
  Expr c = Sigmoid(f) * s.c + Sigmoid(i) * Tanh(u);
  return {.h = Sigmoid(o) * Tanh(c), .c = c};
}

State LstmCell::ZeroState(Graph& g, int64_t batch) const {
  return {.h = g.Fill({batch, hidden_size()}, 0.0, weights_.dtype()),
          .c = g.Fill({batch, hidden_size()}, 0.0, weights_.dtype())};
}

}  // namespace tg
