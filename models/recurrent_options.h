/// \file
/// RecurrentOptions: the fields every recurrent cell's options share (one layer and direction
/// of a PyTorch recurrent module), and the PyTorch parameter names they give.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "graph/dtype.h"

namespace tg {

/// "<prefix>.<what>_l<layer>[_reverse]", PyTorch's naming ("lstm.weight_ih_l0_reverse").
std::string RecurrentParamName(std::string_view prefix, std::string_view what, int layer,
                               bool reverse);

/// Sizes, names and dtype of one recurrent layer and direction. Each cell's options embed it
/// as `recurrent` (LstmCellOptions{.recurrent = {...}, .forget_bias = 1}); every cell's
/// Create also takes a RecurrentOptions alone, for the cell's defaults otherwise.
struct RecurrentOptions {
  int64_t input_size = 0;   ///< I: the width of each step's input x [B,I]
  int64_t hidden_size = 0;  ///< H: the width of h (and c)
  /// Parameter names start "<prefix>."; empty: the cell's own name ("rnn", "lstm", "gru",
  /// "ln_lstm", "peephole_lstm").
  std::string prefix = {};
  int layer = 0;         ///< the layer index in the names ("_l<layer>")
  bool reverse = false;  ///< the reverse direction of a bidirectional layer ("_reverse")
  DType dtype = DType::kF32;  ///< of the parameters (and so of the states), f32 or f64

  /// A copy whose empty prefix is replaced by `cell_name`.
  RecurrentOptions WithDefaultPrefix(std::string_view cell_name) const;
  /// RecurrentParamName(prefix, what, layer, reverse).
  std::string ParamName(std::string_view what) const;
};

}  // namespace tg
