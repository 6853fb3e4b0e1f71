// The LSTM cell (seed article's input, forget and output gates) with PyTorch's nn.LSTM
// parameters and gate order i, f, g, o.
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "graph/graph.h"
#include "graph/parameter.h"
#include "models/cell.h"
#include "models/rnn_cell.h"

namespace tg {

struct LstmCellOptions {
  int64_t input_size = 0;
  int64_t hidden_size = 0;
  std::string prefix = "lstm";
  int layer = 0;
  bool reverse = false;
  DType dtype = DType::kF32;
  // Added to the f-gate slice of bias_ih after initialisation, only when the parameter is
  // new (not when GetOrAdd finds it). 0 is PyTorch's behaviour; 1 helps long memories.
  double forget_bias = 0;
};

// z = x W_ih^T + b_ih + h W_hh^T + b_hh, [i, f, g, o] = split(z, 4, axis 1),
// c' = sigmoid(f) * c + sigmoid(i) * tanh(g),  h' = sigmoid(o) * tanh(c').
// Nodes live in scope "lstm" ("step_3/lstm/mul").
class LstmCell {
 public:
  static absl::StatusOr<LstmCell> Create(ParameterStore& store, const LstmCellOptions& options);

  State Step(Graph& g, Expr x, const State& s) const;
  State ZeroState(Graph& g, int64_t batch) const;
  int64_t hidden_size() const { return weights_.hidden_size(); }
  const RecurrentWeights& weights() const { return weights_; }

 private:
  RecurrentWeights weights_;
};

}  // namespace tg
