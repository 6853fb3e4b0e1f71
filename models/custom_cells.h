/// \file
/// Two LSTM variants written the way a user writes a cell: a struct of Parameters made with
/// GetOrAdd and a Step over ops reading them through WeightOverrides. Nothing here is known to
/// the rest of tapegrad; they satisfy the Cell concept and so work with Unroll, the stacks and
/// AnyCell.
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

/// Options of LayerNormLstmCell::Create.
struct LayerNormLstmCellOptions {
  RecurrentOptions recurrent = {};  ///< an empty prefix means "ln_lstm"
  double eps = 1e-5;  ///< added to the variance in each layer norm
  /// Added to the forget gate's slice [H, 2H) of `ln_gates.bias` when the cell creates it
  /// (as LstmCellOptions::forget_bias; a loaded or shared bias keeps its values).
  double forget_bias = 0;
};

/// LSTM with layer normalisation (Ba et al.\ 2016) of the gate pre-activations and of the
/// cell state before the output tanh:
/// \code
///   z = LN_gates(x W_ih^T + h W_hh^T),  [i,f,g,o] = split(z, 4),
///   c' = sigmoid(f) * c + sigmoid(i) * tanh(g),  h' = sigmoid(o) * tanh(LN_cell(c')).
/// \endcode
/// Parameters (`<s>` = `_l<layer>[_reverse]`): `<prefix>.weight_ih<s>` [4H,I],
/// `.weight_hh<s>` [4H,H] (Uniform ±1/sqrt(H)); `<prefix>.ln_gates<s>.weight` / `.bias` [4H]
/// (1 / 0, plus `forget_bias` on the forget slice; the LN bias is the gate bias);
/// `<prefix>.ln_cell<s>.weight` / `.bias` [H] (1 / 0).
/// Scope "ln_lstm".
class LayerNormLstmCell {
 public:
  /// Gets or adds the cell's parameters in `store` (GetOrAdd: an existing parameter of
  /// another shape or dtype is an error, as is a size <= 0).
  static absl::StatusOr<LayerNormLstmCell> Create(ParameterStore& store,
                                                  const LayerNormLstmCellOptions& options);
  /// eps 1e-5: Create(store, {.recurrent = options}).
  static absl::StatusOr<LayerNormLstmCell> Create(ParameterStore& store,
                                                  const RecurrentOptions& options);

  /// One step: x [B,I] and s -> the next state.
  State Step(Graph& g, Expr x, const State& s) const;
  /// Zeros [batch, H] in the parameters' dtype for h and c.
  State ZeroState(Graph& g, int64_t batch) const;
  /// H.
  int64_t hidden_size() const { return hidden_size_; }
  /// The same cell reading its weights through `overrides` (see WeightOverrides).
  LayerNormLstmCell WithWeights(WeightOverrides overrides) const;

 private:
  Parameter weight_ih_, weight_hh_, gates_gain_, gates_bias_, cell_gain_, cell_bias_;
  int64_t hidden_size_ = 0;
  double eps_ = 1e-5;
  WeightOverrides overrides_;
};

/// The peephole LSTM has no options of its own; an empty prefix means "peephole_lstm".
using PeepholeLstmCellOptions = RecurrentOptions;

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
  /// The same cell reading its weights through `overrides` (see WeightOverrides).
  PeepholeLstmCell WithWeights(WeightOverrides overrides) const;

 private:
  RecurrentWeights weights_;
  Parameter peep_i_, peep_f_, peep_o_;
  WeightOverrides overrides_;
};

}  // namespace tg
