/// \file
/// The Elman RNN cell of the seed article, h_t = act(W_hh h_{t-1} + W_xh x_t + b), with
/// PyTorch's nn.RNN parameters. The article's output y_t = W_hy h_t is a Linear
/// (models/layers.h) on top.
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

/// The Elman RNN's nonlinearity (PyTorch's nonlinearity="tanh" or "relu").
enum class RnnActivation {
  kTanh,  ///< h = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh)
  kRelu,  ///< the same with relu
};

/// Options of RnnCell::Create.
struct RnnCellOptions {
  RecurrentOptions recurrent = {};  ///< an empty prefix means "rnn"
  RnnActivation activation = RnnActivation::kTanh;  ///< tanh or relu
};

/// The Elman cell: h' = act(x W_ih^T + b_ih + h W_hh^T + b_hh); State::c stays empty.
/// Nodes live in scope "rnn" ("step_3/rnn/matmul").
class RnnCell {
 public:
  /// Gets or adds the cell's parameters in `store` (GetOrAdd: an existing parameter of
  /// another shape or dtype is an error, as is a size <= 0).
  static absl::StatusOr<RnnCell> Create(ParameterStore& store, const RnnCellOptions& options);
  /// A tanh cell: Create(store, {.recurrent = options}).
  static absl::StatusOr<RnnCell> Create(ParameterStore& store, const RecurrentOptions& options);

  /// One step: x [B,I] and s -> the next state.
  State Step(Graph& g, Expr x, const State& s) const;
  /// Zeros [batch, H] in the parameters' dtype; c stays empty.
  State ZeroState(Graph& g, int64_t batch) const;
  /// H.
  int64_t hidden_size() const { return weights_.hidden_size(); }
  /// The cell's parameters.
  const RecurrentWeights& weights() const { return weights_; }
  /// The same cell reading its weights through `overrides` (see WeightOverrides).
  RnnCell WithWeights(WeightOverrides overrides) const;

 private:
  RecurrentWeights weights_;
  RnnActivation activation_ = RnnActivation::kTanh;
  WeightOverrides overrides_;
};

}  // namespace tg
