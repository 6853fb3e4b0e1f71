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
  double dropout = 0;  // between layers, as nn.LSTM's dropout
};

class CharModel {
 public:
  static absl::StatusOr<CharModel> Create(ParameterStore& store, const CharModelOptions& options);

  struct Output {
    Expr logits;               // [T*B, V], time-major rows (t * B + b)
    std::vector<State> final;  // one State per layer, to carry into the next chunk
  };
  // ids: i32 [T, B]. `initial` empty: zero state.
  Output Run(Graph& g, Expr ids, const std::vector<State>& initial, Rng* dropout_rng) const;
  std::vector<State> ZeroState(Graph& g, int64_t batch) const { return rnn_.ZeroState(g, batch); }
  const CharModelOptions& options() const { return options_; }
  // Whether training draws dropout masks (dropout acts between layers only).
  bool DropsOut() const { return options_.dropout > 0 && options_.num_layers > 1; }

 private:
  CharModelOptions options_;
  EmbeddingLayer embedding_;
  StackedRnn rnn_;
  Linear head_;
};

}  // namespace tg::examples
