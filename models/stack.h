/// \file
/// Multi-layer and bidirectional recurrent networks over any cells, laid out as PyTorch's
/// nn.RNN / nn.LSTM / nn.GRU with num_layers and bidirectional: layer l runs over the whole
/// sequence before layer l+1 (the reverse direction needs all of it), and parameter names
/// are `<prefix>.weight_ih_l<l>[_reverse]` etc.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "graph/graph.h"
#include "graph/parameter.h"
#include "base/random.h"
#include "models/cell.h"
#include "models/recurrent_options.h"
#include "models/unroll.h"

namespace tg {

/// The built-in cells: RnnCell (tanh or relu), LstmCell, GruCell.
enum class CellKind { kRnnTanh, kRnnRelu, kLstm, kGru };

/// Which built-in cell MakeCell makes, and its options.
struct CellSpec {
  CellKind kind = CellKind::kLstm;  ///< which cell
  RecurrentOptions recurrent = {};  ///< an empty prefix means "rnn", as in StackedRnnOptions
  double forget_bias = 0;           ///< LSTM only
};

/// One built-in cell of `spec.kind` (RnnCell, LstmCell or GruCell) on `store`.
absl::StatusOr<AnyCell> MakeCell(ParameterStore& store, const CellSpec& spec);

/// What Bidirectional::Run returns.
struct BidirectionalResult {
  /// T of [B, H_fwd + H_bwd]: Concat(forward_t, backward_t, axis 1).
  std::vector<Expr> outputs;
  State forward_final;        ///< After step T-1 (or each example's last step).
  State backward_final;       ///< After step 0.
};

/// Runs `forward` over t = 0..T-1 (scope "forward") and `backward` over t = T-1..0 (scope
/// "reverse"), each via Unroll with `options` (lengths, recurrent dropout).
class Bidirectional {
 public:
  /// The two directions' cells (their input widths must agree).
  Bidirectional(AnyCell forward, AnyCell backward)
      : forward_(std::move(forward)), backward_(std::move(backward)) {}

  /// Both directions over the T inputs xs [B,I], from their initial states.
  BidirectionalResult Run(Graph& g, absl::Span<const Expr> xs, const State& forward_s0,
                          const State& backward_s0, const UnrollOptions& options = {}) const;
  /// H_fwd + H_bwd.
  int64_t output_size() const { return forward_.hidden_size() + backward_.hidden_size(); }
  /// The forward direction's cell.
  const AnyCell& forward() const { return forward_; }
  /// The backward direction's cell.
  const AnyCell& backward() const { return backward_; }

 private:
  AnyCell forward_, backward_;
};

/// Options of StackedRnn::Create, as PyTorch's recurrent modules.
struct StackedRnnOptions {
  CellKind kind = CellKind::kLstm;  ///< The cell of every layer.
  int64_t input_size = 0;   ///< I: width of layer 0's input.
  int64_t hidden_size = 0;  ///< H: width of every layer's state.
  int num_layers = 1;  ///< L >= 1.
  bool bidirectional = false;  ///< Add a reverse direction to every layer (D = 2).
  /// On each layer's outputs except the last layer's, as in PyTorch; in [0, 1).
  double dropout = 0;
  std::string prefix = "rnn";  ///< Parameter names start with `<prefix>.`.
  DType dtype = DType::kF32;  ///< Parameter dtype, f32 or f64.
  double forget_bias = 0;  ///< LSTM only (LstmCellOptions::forget_bias).
};

/// Options of StackedRnn::Run.
struct StackRunOptions {
  /// One State per layer and direction, in PyTorch's h_0 order (index layer * D + direction);
  /// empty: zeros.
  std::vector<State> initial = {};
  std::vector<int32_t> lengths = {};  ///< per example, as UnrollOptions::lengths
  double recurrent_dropout = 0;       ///< variational, per layer and direction
  Rng* rng = nullptr;  ///< draws the dropout masks; needed when training with dropout > 0
  bool all_layer_outputs = false;  ///< also return every layer's outputs (StackResult)
  int64_t checkpoint_every = 0;  ///< every layer's, as UnrollOptions::checkpoint_every
};

/// What StackedRnn::Run returns.
struct StackResult {
  std::vector<Expr> outputs;  ///< T of [B, D*H]: the last layer's outputs
  std::vector<State> final;   ///< num_layers * D states, PyTorch's h_n / c_n order
  /// With StackRunOptions::all_layer_outputs, num_layers lists of T [B, D*H]: each layer's
  /// outputs before the dropout between layers (the last list equals `outputs`); else empty.
  std::vector<std::vector<Expr>> layer_outputs = {};
};

/// A multi-layer, optionally bidirectional recurrent network over any cells (see
/// models/stack.h).
class StackedRnn {
 public:
  /// L layers of built-in cells; layer l > 0 takes D*H inputs. Creation order (and so the
  /// store's order and RNG draws) is PyTorch's: l0, l0_reverse, l1, ...
  static absl::StatusOr<StackedRnn> Create(ParameterStore& store, const StackedRnnOptions& options);
  /// Layers from cells of any kind: forward[l], and backward[l] when bidirectional (then both
  /// lists have the same length). Input widths are the caller's business.
  static absl::StatusOr<StackedRnn> FromCells(std::vector<AnyCell> forward,
                                              std::vector<AnyCell> backward = {},
                                              double dropout = 0);

  /// xs: T inputs [B,I]. Layer l runs in scope `l<l>` ("l1/reverse/step_2/lstm/matmul");
  /// errors (initial count, lengths, widths, dropout without an rng) are recorded on g, as
  /// Unroll's.
  StackResult Run(Graph& g, absl::Span<const Expr> xs, const StackRunOptions& options = {}) const;
  /// Zero states for every layer and direction, in StackRunOptions::initial's order.
  std::vector<State> ZeroState(Graph& g, int64_t batch) const;

  /// L.
  int num_layers() const { return static_cast<int>(forward_.size()); }
  /// Whether the layers have a reverse direction.
  bool bidirectional() const { return !backward_.empty(); }
  /// The width of each output: the last layer's H (plus its reverse cell's when bidirectional).
  int64_t output_size() const;

 private:
  std::vector<AnyCell> forward_, backward_;
  double dropout_ = 0;
};

}  // namespace tg
