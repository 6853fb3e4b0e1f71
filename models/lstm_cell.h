/// \file
/// The LSTM cell (seed article's input, forget and output gates) with PyTorch's nn.LSTM
/// parameters and gate order i, f, g, o.
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "graph/graph.h"
#include "graph/parameter.h"
#include "models/cell.h"
#include "models/rnn_cell.h"

namespace tg {

/// Options of LstmCell::Create.
struct LstmCellOptions {
  int64_t input_size = 0;   ///< I: width of each step's input.
  int64_t hidden_size = 0;  ///< H: width of the state.
  std::string prefix = "lstm";  ///< Parameter names start with `<prefix>.`.
  int layer = 0;  ///< Layer index in the parameter names (`_l<layer>`).
  bool reverse = false;  ///< Names end in `_reverse` (a bidirectional layer's backward half).
  DType dtype = DType::kF32;  ///< Parameter dtype, f32 or f64.
  /// Added to the f-gate slice of bias_ih after initialisation, only when the parameter is
  /// new (not when GetOrAdd finds it). 0 is PyTorch's behaviour; 1 helps long memories.
  double forget_bias = 0;
};

/// The LSTM cell: z = x W_ih^T + b_ih + h W_hh^T + b_hh, [i, f, g, o] = split(z, 4, axis 1),
/// c' = sigmoid(f) * c + sigmoid(i) * tanh(g),  h' = sigmoid(o) * tanh(c').
/// Nodes live in scope "lstm" ("step_3/lstm/mul").
class LstmCell {
 public:
  /// Gets or adds the cell's parameters in `store` (GetOrAdd: an existing parameter of
  /// another shape or dtype is an error, as is a size <= 0).
  static absl::StatusOr<LstmCell> Create(ParameterStore& store, const LstmCellOptions& options);

  /// One step: x [B,I] and s -> the next state.
  State Step(Graph& g, Expr x, const State& s) const;
  /// Zeros [batch, H] in the parameters' dtype for h and c.
  State ZeroState(Graph& g, int64_t batch) const;
  /// H.
  int64_t hidden_size() const { return weights_.hidden_size(); }
  /// The cell's parameters.
  const RecurrentWeights& weights() const { return weights_; }

 private:
  RecurrentWeights weights_;
};

}  // namespace tg
