#include "models/stack.h"

#include <utility>

#include "fmt/format.h"
#include "base/status_macros.h"
#include "models/gru_cell.h"
#include "models/layers.h"
#include "models/lstm_cell.h"
#include "models/rnn_cell.h"
#include "ops/ops.h"

namespace tg {

absl::StatusOr<AnyCell> MakeCell(ParameterStore& store, const CellSpec& spec) {
  CellSpec s = spec;
  s.recurrent = spec.recurrent.WithDefaultPrefix("rnn");
  switch (s.kind) {
    case CellKind::kRnnTanh:
    case CellKind::kRnnRelu:
      return RnnCell::Create(
          store, RnnCellOptions{.recurrent = s.recurrent,
                                .activation = s.kind == CellKind::kRnnRelu ? RnnActivation::kRelu
                                                                           : RnnActivation::kTanh});
    case CellKind::kLstm:
      return LstmCell::Create(
          store, LstmCellOptions{.recurrent = s.recurrent, .forget_bias = s.forget_bias});
    case CellKind::kGru:
      return GruCell::Create(store, s.recurrent);
  }
  return absl::InvalidArgumentError("MakeCell: unknown cell kind");
}

BidirectionalResult Bidirectional::Run(Graph& g, absl::Span<const Expr> xs, const State& forward_s0,
                                       const State& backward_s0,
                                       const UnrollOptions& options) const {
  UnrollResult fwd, bwd;
  {
    auto scope = g.Scope("forward");
    fwd = Unroll(g, forward_, xs, forward_s0, options);
  }
  {
    auto scope = g.Scope("reverse");
    UnrollOptions reverse = options;
    reverse.reverse = true;
    bwd = Unroll(g, backward_, xs, backward_s0, reverse);
  }
  BidirectionalResult result{
      .outputs = {}, .forward_final = fwd.final, .backward_final = bwd.final};
  for (size_t t = 0; t < xs.size(); ++t) {
    result.outputs.push_back(Concat({fwd.outputs[t], bwd.outputs[t]}, /*axis=*/1));
  }
  return result;
}

absl::StatusOr<StackedRnn> StackedRnn::Create(ParameterStore& store, const StackedRnnOptions& o) {
  if (o.num_layers < 1) {
    return absl::InvalidArgumentError(
        fmt::format("StackedRnn '{}': num_layers must be >= 1, got {}", o.prefix, o.num_layers));
  }
  std::vector<AnyCell> forward, backward;
  const int64_t directions = o.bidirectional ? 2 : 1;
  for (int l = 0; l < o.num_layers; ++l) {
    CellSpec spec{.kind = o.kind,
                  .recurrent = {.input_size = l == 0 ? o.input_size : directions * o.hidden_size,
                                .hidden_size = o.hidden_size,
                                .prefix = o.prefix,
                                .layer = l,
                                .reverse = false,
                                .dtype = o.dtype},
                  .forget_bias = o.forget_bias};
    TG_ASSIGN_OR_RETURN(AnyCell f, MakeCell(store, spec));
    forward.push_back(std::move(f));
    if (o.bidirectional) {
      spec.recurrent.reverse = true;
      TG_ASSIGN_OR_RETURN(AnyCell b, MakeCell(store, spec));
      backward.push_back(std::move(b));
    }
  }
  return FromCells(std::move(forward), std::move(backward), o.dropout);
}

absl::StatusOr<StackedRnn> StackedRnn::FromCells(std::vector<AnyCell> forward,
                                                 std::vector<AnyCell> backward, double dropout) {
  if (forward.empty()) return absl::InvalidArgumentError("StackedRnn: no layers");
  if (!backward.empty() && backward.size() != forward.size()) {
    return absl::InvalidArgumentError(fmt::format(
        "StackedRnn: {} forward cells but {} backward ones", forward.size(), backward.size()));
  }
  if (dropout < 0 || dropout >= 1) {
    return absl::InvalidArgumentError(
        fmt::format("StackedRnn: dropout must lie in [0, 1), got {}", dropout));
  }
  StackedRnn s;
  s.forward_ = std::move(forward);
  s.backward_ = std::move(backward);
  s.dropout_ = dropout;
  return s;
}

int64_t StackedRnn::output_size() const {
  const AnyCell& last = forward_.back();
  return bidirectional() ? last.hidden_size() + backward_.back().hidden_size() : last.hidden_size();
}

std::vector<State> StackedRnn::ZeroState(Graph& g, int64_t batch) const {
  std::vector<State> states;
  for (int l = 0; l < num_layers(); ++l) {
    states.push_back(forward_[l].ZeroState(g, batch));
    if (bidirectional()) states.push_back(backward_[l].ZeroState(g, batch));
  }
  return states;
}

StackResult StackedRnn::Run(Graph& g, absl::Span<const Expr> xs,
                            const StackRunOptions& options) const {
  const size_t directions = bidirectional() ? 2 : 1;
  StackResult result{.outputs = std::vector<Expr>(xs.size()), .final = {}};
  auto fail = [&](std::string message) {
    g.RecordError(absl::InvalidArgumentError(std::move(message)));
    return result;
  };
  if (xs.empty()) return fail("StackedRnn: no steps given");
  std::vector<State> s0 = options.initial;
  if (s0.empty()) {
    s0 = ZeroState(g, xs[0].shape().rank() > 0 ? xs[0].shape()[0] : 0);
  } else if (s0.size() != num_layers() * directions) {
    return fail(fmt::format("StackedRnn: {} initial states given, {} needed (layers x directions)",
                            s0.size(), num_layers() * directions));
  }
  const bool train = g.mode() != ExecMode::kInference;
  if (train && (dropout_ > 0 || options.recurrent_dropout > 0) && options.rng == nullptr) {
    return fail("StackedRnn: dropout needs StackRunOptions::rng");
  }
  const UnrollOptions unroll{.lengths = options.lengths,
                             .reverse = false,
                             .recurrent_dropout = options.recurrent_dropout,
                             .rng = options.rng,
                             .checkpoint_every = options.checkpoint_every};
  std::vector<Expr> in(xs.begin(), xs.end());
  for (int l = 0; l < num_layers(); ++l) {
    auto scope = g.Scope(fmt::format("l{}", l));
    std::vector<Expr> out;
    if (bidirectional()) {
      BidirectionalResult r =
          Bidirectional(forward_[l], backward_[l]).Run(g, in, s0[2 * l], s0[2 * l + 1], unroll);
      out = std::move(r.outputs);
      result.final.push_back(r.forward_final);
      result.final.push_back(r.backward_final);
    } else {
      UnrollResult r = Unroll(g, forward_[l], in, s0[l], unroll);
      out = std::move(r.outputs);
      result.final.push_back(r.final);
    }
    if (options.all_layer_outputs) result.layer_outputs.push_back(out);
    if (l + 1 < num_layers() && dropout_ > 0 && train) {
      for (Expr& x : out) x = Dropout(g, x, dropout_, *options.rng);
    }
    in = std::move(out);
  }
  result.outputs = std::move(in);
  return result;
}

}  // namespace tg
