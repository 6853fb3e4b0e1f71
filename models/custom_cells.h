/// \file
/// Two LSTM variants written the way a user writes a cell: a struct of Parameters made with
/// GetOrAdd and a Step over ops. Nothing here is known to the rest of tapegrad; they satisfy
/// the Cell concept and so work with Unroll, the stacks and AnyCell.
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "graph/graph.h"
#include "graph/parameter.h"
#include "models/cell.h"
#include "models/rnn_cell.h"

namespace tg {

/// Options of LayerNormLstmCell::Create.
struct LayerNormLstmCellOptions {
  int64_t input_size = 0;   ///< I: width of each step's input.
  int64_t hidden_size = 0;  ///< H: width of the state.
  std::string prefix = "ln_lstm";  ///< Parameter names start with `<prefix>.`.
  int layer = 0;  ///< Layer index in the parameter names (`_l<layer>`).
  bool reverse = false;  ///< Names end in `_reverse` (a bidirectional layer's backward half).
  DType dtype = DType::kF32;  ///< Parameter dtype, f32 or f64.
  double eps = 1e-5;  ///< Added to the variance in both layer norms.
};

/// LSTM with layer normalisation (Ba et al.\ 2016) of the gate pre-activations and of the
/// cell state before the output tanh:
/// \code
///   z = LN_gates(x W_ih^T + h W_hh^T),  [i,f,g,o] = split(z, 4),
///   c' = sigmoid(f) * c + sigmoid(i) * tanh(g),  h' = sigmoid(o) * tanh(LN_cell(c')).
/// \endcode
/// Parameters (`<s>` = `_l<layer>[_reverse]`): `<prefix>.weight_ih<s>` [4H,I],
/// `.weight_hh<s>` [4H,H] (Uniform ±1/sqrt(H)); `<prefix>.ln_gates<s>.weight` / `.bias` [4H]
/// (1 / 0; the LN bias is the gate bias); `<prefix>.ln_cell<s>.weight` / `.bias` [H] (1 / 0).
/// Scope "ln_lstm".
class LayerNormLstmCell {
 public:
  /// Gets or adds the cell's parameters in `store` (GetOrAdd: an existing parameter of
  /// another shape or dtype is an error, as is a size <= 0).
  static absl::StatusOr<LayerNormLstmCell> Create(ParameterStore& store,
                                                  const LayerNormLstmCellOptions& options);

  /// One step: x [B,I] and s -> the next state.
  State Step(Graph& g, Expr x, const State& s) const;
  /// Zeros [batch, H] in the parameters' dtype for h and c.
  State ZeroState(Graph& g, int64_t batch) const;
  /// H.
  int64_t hidden_size() const { return hidden_size_; }

 private:
  Parameter weight_ih_, weight_hh_, gates_gain_, gates_bias_, cell_gain_, cell_bias_;
  int64_t hidden_size_ = 0;
  double eps_ = 1e-5;
};

/// Options of PeepholeLstmCell::Create.
struct PeepholeLstmCellOptions {
  int64_t input_size = 0;   ///< I: width of each step's input.
  int64_t hidden_size = 0;  ///< H: width of the state.
  std::string prefix = "peephole_lstm";  ///< Parameter names start with `<prefix>.`.
  int layer = 0;  ///< Layer index in the parameter names (`_l<layer>`).
  bool reverse = false;  ///< Names end in `_reverse` (a bidirectional layer's backward half).
  DType dtype = DType::kF32;  ///< Parameter dtype, f32 or f64.
};

/// LSTM with diagonal peephole connections (Gers & Schmidhuber 2000): the i and f gates see
/// c_{t-1}, the o gate sees c_t.
/// \code
///   [zi,zf,zg,zo] = split(x W_ih^T + b_ih + h W_hh^T + b_hh, 4)
///   i = sigmoid(zi + w_ci * c),  f = sigmoid(zf + w_cf * c),  c' = f * c + i * tanh(zg),
///   o = sigmoid(zo + w_co * c'),  h' = o * tanh(c')
/// \endcode
/// Parameters: the four of nn.LSTM under `<prefix>` (RecurrentWeights) plus
/// `<prefix>.weight_ci<s>`, `.weight_cf<s>`, `.weight_co<s>` [H] (Uniform ±1/sqrt(H)).
/// Scope "peephole_lstm".
class PeepholeLstmCell {
 public:
  /// Gets or adds the cell's parameters in `store` (GetOrAdd: an existing parameter of
  /// another shape or dtype is an error, as is a size <= 0).
  static absl::StatusOr<PeepholeLstmCell> Create(ParameterStore& store,
                                                 const PeepholeLstmCellOptions& options);

  /// One step: x [B,I] and s -> the next state.
  State Step(Graph& g, Expr x, const State& s) const;
  /// Zeros [batch, H] in the parameters' dtype for h and c.
  State ZeroState(Graph& g, int64_t batch) const;
  /// H.
  int64_t hidden_size() const { return weights_.hidden_size(); }

 private:
  RecurrentWeights weights_;
  Parameter peep_i_, peep_f_, peep_o_;
};

}  // namespace tg
