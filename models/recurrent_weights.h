/// \file
/// RecurrentWeights: the weight set every PyTorch-compatible recurrent cell shares, one layer
/// and direction of nn.RNN / nn.LSTM / nn.GRU.
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "graph/graph.h"
#include "graph/parameter.h"
#include "models/recurrent_options.h"
#include "models/weight_overrides.h"

namespace tg {

/// weight_ih [G*H, I], weight_hh [G*H, H], bias_ih and bias_hh [G*H] for G gates, named
/// "<prefix>.weight_ih_l<layer>[_reverse]" etc., all Uniform(+-1/sqrt(H)) from the store's
/// RNG in that order.
struct RecurrentWeights {
  Parameter weight_ih;  ///< [G*H, I]
  Parameter weight_hh;  ///< [G*H, H]
  Parameter bias_ih;    ///< [G*H]
  Parameter bias_hh;    ///< [G*H]

  /// G = `gates`: 1 RNN, 4 LSTM (i,f,g,o), 3 GRU (r,z,n). GetOrAdd: an existing parameter of
  /// that name is reused (its shape and dtype must match). options.prefix must be set.
  static absl::StatusOr<RecurrentWeights> Create(ParameterStore& store,
                                                 const RecurrentOptions& options, int64_t gates);
  /// x W_ih^T + b_ih  and  h W_hh^T + b_hh, both [B, G*H] (kept apart for the GRU). Each
  /// weight is read through `overrides` (g.Param unless a value is set for it).
  Expr InputProjection(Graph& g, Expr x, const WeightOverrides& overrides = {}) const;
  /// h W_hh^T + b_hh, [B, G*H], read through `overrides` like InputProjection.
  Expr HiddenProjection(Graph& g, Expr h, const WeightOverrides& overrides = {}) const;
  /// H (0 before Create).
  int64_t hidden_size() const { return weight_hh.valid() ? weight_hh.shape()[1] : 0; }
  /// The weights' dtype (f32 before Create).
  DType dtype() const { return weight_hh.valid() ? weight_hh.dtype() : DType::kF32; }
};

/// Adds `amount` to the forget gate's slice [H, 2H) of the LSTM gate bias `name` ([4H], gates
/// i,f,g,o; `hidden` = H). The cells call it only for a bias they have just created, so that a
/// clone or a loaded model keeps its values.
absl::Status AddToForgetGateBias(ParameterStore& store, const std::string& name, int64_t hidden,
                                 double amount);

}  // namespace tg
