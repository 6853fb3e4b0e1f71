/// \file
/// The Elman RNN cell of the seed article, h_t = act(W_hh h_{t-1} + W_xh x_t + b), with
/// PyTorch's nn.RNN parameters; and the weight set every PyTorch-compatible cell shares.
/// The article's output y_t = W_hy h_t is a Linear (models/layers.h) on top.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "graph/graph.h"
#include "graph/parameter.h"
#include "models/cell.h"

namespace tg {

/// `<prefix>.<what>_l<layer>[_reverse]`, PyTorch's naming ("lstm.weight_ih_l0_reverse").
std::string RecurrentParamName(std::string_view prefix, std::string_view what, int layer,
                               bool reverse);

/// Options of RecurrentWeights::Create.
struct RecurrentWeightsOptions {
  std::string prefix = "rnn";  ///< Parameter names start with `<prefix>.`.
  int layer = 0;  ///< Layer index in the parameter names (`_l<layer>`).
  bool reverse = false;  ///< Names end in `_reverse` (a bidirectional layer's backward half).
  int64_t gates = 1;  ///< G: 1 RNN, 4 LSTM (i,f,g,o), 3 GRU (r,z,n).
  int64_t input_size = 0;   ///< I: width of each step's input.
  int64_t hidden_size = 0;  ///< H: width of the state.
  DType dtype = DType::kF32;  ///< Parameter dtype, f32 or f64.
};

/// One layer and direction of a PyTorch recurrent module: weight_ih [G*H, I], weight_hh
/// [G*H, H], bias_ih and bias_hh [G*H], all Uniform(±1/sqrt(H)) from the store's RNG in
/// that order. GetOrAdd: an existing parameter of that name is reused (shape must match).
struct RecurrentWeights {
  /// \var weight_ih
  /// [G*H, I].
  /// \var weight_hh
  /// [G*H, H].
  /// \var bias_ih
  /// [G*H], added to the input projection.
  /// \var bias_hh
  /// [G*H], added to the hidden projection.
  Parameter weight_ih, weight_hh, bias_ih, bias_hh;

  /// Gets or adds the four parameters in `store`.
  static absl::StatusOr<RecurrentWeights> Create(ParameterStore& store,
                                                 const RecurrentWeightsOptions& options);
  /// `x W_ih^T + b_ih`, [B, G*H] (kept apart from HiddenProjection for the GRU).
  Expr InputProjection(Graph& g, Expr x) const;
  /// `h W_hh^T + b_hh`, [B, G*H].
  Expr HiddenProjection(Graph& g, Expr h) const;
  /// H (0 before Create).
  int64_t hidden_size() const { return weight_hh.valid() ? weight_hh.shape()[1] : 0; }
  /// The parameters' dtype (f32 before Create).
  DType dtype() const { return weight_hh.valid() ? weight_hh.dtype() : DType::kF32; }
};

/// The weight options of any cell's options struct: every cell names its layer with the same
/// fields (input_size, hidden_size, prefix, layer, reverse, dtype).
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

/// The nonlinearity of an RnnCell: tanh or relu.
enum class RnnActivation { kTanh, kRelu };

/// Options of RnnCell::Create.
struct RnnCellOptions {
  int64_t input_size = 0;   ///< I: width of each step's input.
  int64_t hidden_size = 0;  ///< H: width of the state.
  std::string prefix = "rnn";  ///< Parameter names start with `<prefix>.`.
  int layer = 0;  ///< Layer index in the parameter names (`_l<layer>`).
  bool reverse = false;  ///< Names end in `_reverse` (a bidirectional layer's backward half).
  DType dtype = DType::kF32;  ///< Parameter dtype, f32 or f64.
  RnnActivation activation = RnnActivation::kTanh;  ///< tanh (PyTorch's default) or relu.
};

/// The Elman cell: h' = act(x W_ih^T + b_ih + h W_hh^T + b_hh); State::c stays empty.
/// Nodes live in scope "rnn" ("step_3/rnn/matmul").
class RnnCell {
 public:
  /// Gets or adds the cell's parameters in `store` (GetOrAdd: an existing parameter of
  /// another shape or dtype is an error, as is a size <= 0).
  static absl::StatusOr<RnnCell> Create(ParameterStore& store, const RnnCellOptions& options);

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
  RnnActivation activation_ = RnnActivation::kTanh;
};

}  // namespace tg
