// The Elman RNN cell of the seed article, h_t = act(W_hh h_{t-1} + W_xh x_t + b), with
// PyTorch's nn.RNN parameters. The article's output y_t = W_hy h_t is a Linear
// (models/layers.h) on top.
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

enum class RnnActivation { kTanh, kRelu };

struct RnnCellOptions {
  RecurrentOptions recurrent = {};  // an empty prefix means "rnn"
  RnnActivation activation = RnnActivation::kTanh;
};

// h' = act(x W_ih^T + b_ih + h W_hh^T + b_hh); State::c stays empty. Nodes live in scope
// "rnn" (e.g. "step_3/rnn/matmul").
class RnnCell {
 public:
  static absl::StatusOr<RnnCell> Create(ParameterStore& store, const RnnCellOptions& options);
  // A tanh cell: Create(store, {.recurrent = options}).
  static absl::StatusOr<RnnCell> Create(ParameterStore& store, const RecurrentOptions& options);

  State Step(Graph& g, Expr x, const State& s) const;
  State ZeroState(Graph& g, int64_t batch) const;
  int64_t hidden_size() const { return weights_.hidden_size(); }
  const RecurrentWeights& weights() const { return weights_; }
  // The same cell reading its weights through `overrides` (see WeightOverrides).
  RnnCell WithWeights(WeightOverrides overrides) const;

 private:
  RecurrentWeights weights_;
  RnnActivation activation_ = RnnActivation::kTanh;
  WeightOverrides overrides_;
};

}  // namespace tg
