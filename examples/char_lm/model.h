// The character language model: embedding -> a stack of recurrent layers of any cell kind
// -> a linear layer to next-character logits, with parameter names as PyTorch's
// nn.Embedding / nn.LSTM / nn.Linear ("embedding.weight", "rnn.weight_ih_l0", "head.weight").
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "graph/graph.h"
#include "graph/parameter.h"
#include "models/layers.h"
#include "models/stack.h"

namespace tg::examples {

struct CharModelOptions {
  std::string cell = "lstm";  // lstm, gru, rnn (tanh) or lnlstm (layer-normalised LSTM)
  int num_layers = 1;
  int64_t vocab_size = 0;
  int64_t embedding_dim = 64;
  int64_t hidden_size = 256;
  // On every non-recurrent connection (Zaremba et al. 2014): the embedding's output, between
  // layers (as nn.LSTM's dropout) and the head's input; so it also acts with one layer.
  double dropout = 0;
  // Added to the LSTM's forget-gate bias at creation (Jozefowicz et al. 2015; Keras's
  // unit_forget_bias); 0 is PyTorch's init.
  double forget_bias = 0;
};

// Whether `cell` (a CharModelOptions::cell) has a forget gate that forget_bias sets.
inline bool TakesForgetBias(const std::string& cell) { return cell == "lstm" || cell == "lnlstm"; }

class CharModel {
 public:
  static absl::StatusOr<CharModel> Create(ParameterStore& store, const CharModelOptions& options);

  struct Output {
    Expr logits;               // [T*B, V], time-major rows (t * B + b)
    std::vector<State> final;  // one State per layer, to carry into the next chunk
  };
  // ids: i32 [T, B]. `initial` empty: zero state. `dropout_rng` draws the dropout seeds when
  // training with dropout (an error on g if it is null then). `checkpoint_every` > 0 marks
  // every layer's state as a checkpoint every that many steps (UnrollOptions).
  Output Run(Graph& g, Expr ids, const std::vector<State>& initial, Rng* dropout_rng,
             int64_t checkpoint_every = 0) const;
  std::vector<State> ZeroState(Graph& g, int64_t batch) const { return rnn_.ZeroState(g, batch); }
  const CharModelOptions& options() const { return options_; }

 private:
  CharModelOptions options_;
  EmbeddingLayer embedding_;
  StackedRnn rnn_;
  Linear head_;
};

}  // namespace tg::examples
