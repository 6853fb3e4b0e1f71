// The GRU cell with PyTorch's nn.GRU parameters and gate order r, z, n.
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "graph/graph.h"
#include "graph/parameter.h"
#include "models/cell.h"
#include "models/rnn_cell.h"

namespace tg {

struct GruCellOptions {
  int64_t input_size = 0;
  int64_t hidden_size = 0;
  std::string prefix = "gru";
  int layer = 0;
  bool reverse = false;
  DType dtype = DType::kF32;
};

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

 private:
  RecurrentWeights weights_;
};

}  // namespace tg
