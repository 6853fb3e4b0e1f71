// The GRU cell with PyTorch's nn.GRU parameters and gate order r, z, n.
#pragma once

#include <cstdint>

#include "absl/status/statusor.h"
#include "graph/graph.h"
#include "graph/parameter.h"
#include "models/cell.h"
#include "models/recurrent_options.h"
#include "models/recurrent_weights.h"
#include "models/weight_overrides.h"

namespace tg {

// The GRU has no options of its own; an empty prefix means "gru".
using GruCellOptions = RecurrentOptions;

// [xr, xz, xn] = split(x W_ih^T + b_ih),  [hr, hz, hn] = split(h W_hh^T + b_hh),
// r = sigmoid(xr + hr), z = sigmoid(xz + hz), n = tanh(xn + r * hn)  (r scales b_hn too,
// as in PyTorch), h' = (1 - z) * n + z * h. State::c stays empty. Scope "gru".
class GruCell {
 public:
  static absl::StatusOr<GruCell> Create(ParameterStore& store, const GruCellOptions& options);

  State Step(Graph& g, Expr x, const State& s) const;
  State ZeroState(Graph& g, int64_t batch) const;
  int64_t hidden_size() const { return weights_.hidden_size(); }
  const RecurrentWeights& weights() const { return weights_; }
  // The same cell reading its weights through `overrides` (see WeightOverrides).
  GruCell WithWeights(WeightOverrides overrides) const;

 private:
  RecurrentWeights weights_;
  WeightOverrides overrides_;
};

}  // namespace tg
