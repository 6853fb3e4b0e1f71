/// \file
/// The GRU cell with PyTorch's nn.GRU parameters and gate order r, z, n.
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "graph/graph.h"
#include "graph/parameter.h"
#include "models/cell.h"
#include "models/rnn_cell.h"

namespace tg {

/// Options of GruCell::Create.
struct GruCellOptions {
  int64_t input_size = 0;   ///< I: width of each step's input.
  int64_t hidden_size = 0;  ///< H: width of the state.
  std::string prefix = "gru";  ///< Parameter names start with `<prefix>.`.
  int layer = 0;  ///< Layer index in the parameter names (`_l<layer>`).
  bool reverse = false;  ///< Names end in `_reverse` (a bidirectional layer's backward half).
  DType dtype = DType::kF32;  ///< Parameter dtype, f32 or f64.
};

/// The GRU cell:
/// [xr, xz, xn] = split(x W_ih^T + b_ih),  [hr, hz, hn] = split(h W_hh^T + b_hh),
/// r = sigmoid(xr + hr), z = sigmoid(xz + hz), n = tanh(xn + r * hn)  (r scales b_hn too,
/// as in PyTorch), h' = (1 - z) * n + z * h. State::c stays empty. Scope "gru".
class GruCell {
 public:
  /// Gets or adds the cell's parameters in `store` (GetOrAdd: an existing parameter of
  /// another shape or dtype is an error, as is a size <= 0).
  static absl::StatusOr<GruCell> Create(ParameterStore& store, const GruCellOptions& options);

  /// One step: x [B,I] and s -> the next state.
  State Step(Graph& g, Expr x, const State& s) const;
  /// Zeros [batch, H] in the parameters' dtype; c stays empty.
  State ZeroState(Graph& g, int64_t batch) const;
  /// H.
  int64_t hidden_size() const { return weights_.hidden_size(); }
  /// The cell's parameters.
  const RecurrentWeights& weights() const { return weights_; }

 private:
  RecurrentWeights weights_;
};

}  // namespace tg
