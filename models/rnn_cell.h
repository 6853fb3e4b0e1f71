// The Elman RNN cell of the seed article, h_t = act(W_hh h_{t-1} + W_xh x_t + b), with
// PyTorch's nn.RNN parameters; and the weight set every PyTorch-compatible cell shares.
// The article's output y_t = W_hy h_t is a Linear (models/layers.h) on top.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "graph/graph.h"
#include "graph/parameter.h"
#include "models/cell.h"

namespace tg {

// "<prefix>.<what>_l<layer>[_reverse]", PyTorch's naming ("lstm.weight_ih_l0_reverse").
std::string RecurrentParamName(std::string_view prefix, std::string_view what, int layer,
                               bool reverse);

struct RecurrentWeightsOptions {
  std::string prefix = "rnn";
  int layer = 0;
  bool reverse = false;
  int64_t gates = 1;  // G: 1 RNN, 4 LSTM (i,f,g,o), 3 GRU (r,z,n)
  int64_t input_size = 0;
  int64_t hidden_size = 0;
  DType dtype = DType::kF32;
};

// One layer and direction of a PyTorch recurrent module: weight_ih [G*H, I], weight_hh
// [G*H, H], bias_ih and bias_hh [G*H], all Uniform(+-1/sqrt(H)) from the store's RNG in
// that order. GetOrAdd: an existing parameter of that name is reused (shape must match).
struct RecurrentWeights {
  Parameter weight_ih, weight_hh, bias_ih, bias_hh;

  static absl::StatusOr<RecurrentWeights> Create(ParameterStore& store,
                                                 const RecurrentWeightsOptions& options);
  // x W_ih^T + b_ih  and  h W_hh^T + b_hh, both [B, G*H] (kept apart for the GRU).
  Expr InputProjection(Graph& g, Expr x) const;
  Expr HiddenProjection(Graph& g, Expr h) const;
  int64_t hidden_size() const { return weight_hh.valid() ? weight_hh.shape()[1] : 0; }
  DType dtype() const { return weight_hh.valid() ? weight_hh.dtype() : DType::kF32; }
};

// The weight options of any cell's options struct: every cell names its layer with the same
// fields (input_size, hidden_size, prefix, layer, reverse, dtype).
template <class CellOptions>
RecurrentWeightsOptions WeightsOptionsOf(const CellOptions& o, int64_t gates) {
  return {.prefix = o.prefix,
          .layer = o.layer,
          .reverse = o.reverse,
          .gates = gates,
          .input_size = o.input_size,
          .hidden_size = o.hidden_size,
          .dtype = o.dtype};
}

enum class RnnActivation { kTanh, kRelu };

struct RnnCellOptions {
  int64_t input_size = 0;
  int64_t hidden_size = 0;
  std::string prefix = "rnn";
  int layer = 0;
  bool reverse = false;
  DType dtype = DType::kF32;
  RnnActivation activation = RnnActivation::kTanh;
};

// h' = act(x W_ih^T + b_ih + h W_hh^T + b_hh); State::c stays empty. Nodes live in scope
// "rnn" (e.g. "step_3/rnn/matmul").
class RnnCell {
 public:
  static absl::StatusOr<RnnCell> Create(ParameterStore& store, const RnnCellOptions& options);

  State Step(Graph& g, Expr x, const State& s) const;
  State ZeroState(Graph& g, int64_t batch) const;
  int64_t hidden_size() const { return weights_.hidden_size(); }
  const RecurrentWeights& weights() const { return weights_; }

 private:
  RecurrentWeights weights_;
  RnnActivation activation_ = RnnActivation::kTanh;
};

}  // namespace tg
