#include "examples/char_lm/model.h"

#include "absl/strings/str_cat.h"
#include "base/status_macros.h"
#include "models/custom_cells.h"
#include "models/unroll.h"

namespace tg::examples {
namespace {

// One layer's cell; the layer-normalised LSTM is a user-style cell outside CellKind.
absl::StatusOr<AnyCell> LayerCell(ParameterStore& store, const CharModelOptions& o, int layer) {
  const int64_t input = layer == 0 ? o.embedding_dim : o.hidden_size;
  if (o.cell == "lnlstm") {
    TG_ASSIGN_OR_RETURN(LayerNormLstmCell cell,
                        LayerNormLstmCell::Create(store, {.recurrent = {.input_size = input,
                                                                        .hidden_size = o.hidden_size,
                                                                        .prefix = "rnn",
                                                                        .layer = layer},
                                                          .forget_bias = o.forget_bias}));
    return AnyCell(cell);
  }
  CellKind kind;
  if (o.cell == "lstm") kind = CellKind::kLstm;
  else if (o.cell == "gru") kind = CellKind::kGru;
  else if (o.cell == "rnn") kind = CellKind::kRnnTanh;
  else return absl::InvalidArgumentError(absl::StrCat("unknown --cell '", o.cell, "' (lstm, gru, rnn or lnlstm)"));
  return MakeCell(store, {.kind = kind,
                          .recurrent = {.input_size = input, .hidden_size = o.hidden_size,
                                        .prefix = "rnn", .layer = layer},
                          .forget_bias = o.forget_bias});
}

}  // namespace

absl::StatusOr<CharModel> CharModel::Create(ParameterStore& store, const CharModelOptions& options) {
  if (options.vocab_size <= 0 || options.hidden_size <= 0 || options.embedding_dim <= 0 ||
      options.num_layers <= 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "char model: vocabulary (", options.vocab_size, "), embedding (", options.embedding_dim,
        "), hidden (", options.hidden_size, ") and layers (", options.num_layers, ") must be positive"));
  }
  if (options.forget_bias != 0 && !TakesForgetBias(options.cell)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "char model: --forget_bias=", options.forget_bias, " sets the LSTM's forget gate, but --cell=",
        options.cell, " has none (it applies to --cell=lstm and lnlstm)"));
  }
  CharModel model;
  model.options_ = options;
  TG_ASSIGN_OR_RETURN(model.embedding_,
                      EmbeddingLayer::Create(store, {.num_embeddings = options.vocab_size,
                                                     .embedding_dim = options.embedding_dim}));
  std::vector<AnyCell> cells;
  for (int layer = 0; layer < options.num_layers; ++layer) {
    TG_ASSIGN_OR_RETURN(AnyCell cell, LayerCell(store, options, layer));
    cells.push_back(std::move(cell));
  }
  TG_ASSIGN_OR_RETURN(model.rnn_, StackedRnn::FromCells(std::move(cells), {}, options.dropout));
  TG_ASSIGN_OR_RETURN(model.head_, Linear::Create(store, {.in_features = options.hidden_size,
                                                          .out_features = options.vocab_size,
                                                          .prefix = "head"}));
  return model;
}

CharModel::Output CharModel::Run(Graph& g, Expr ids, const std::vector<State>& initial,
                                 Rng* dropout_rng, int64_t checkpoint_every) const {
  // Dropout over whole [T,B,...] tensors: one op (one seed) each rather than one per step.
  auto drop = [&](Expr x) {
    const bool drops = options_.dropout > 0 && g.mode() != ExecMode::kInference;
    if (!drops) return x;
    if (dropout_rng == nullptr) {
      g.RecordError(absl::InvalidArgumentError("char model: dropout needs an rng"));
      return x;
    }
    return Dropout(g, x, options_.dropout, *dropout_rng);
  };
  std::vector<Expr> steps = SplitSteps(drop(embedding_(g, ids)));  // T of [B, E]
  StackResult r = rnn_.Run(
      g, steps, {.initial = initial, .rng = dropout_rng, .checkpoint_every = checkpoint_every});
  return {.logits = head_(g, drop(StackSteps(r.outputs))), .final = std::move(r.final)};
}

}  // namespace tg::examples
