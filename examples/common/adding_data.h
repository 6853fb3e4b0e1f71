// The adding problem (Hochreiter & Schmidhuber 1997), in the variant of Le, Jaitly and Hinton
// (2015): each of T steps carries [value, marker], value ~ U[0,1]; exactly two markers are 1,
// one at a step in [0, T/2) and one in [T/2, T); the target is the sum of the two marked
// values. Predicting the mean (1) scores an MSE of Var(sum) = 2/12 = 1/6 ~ 0.167.
//
// Shared by examples/adding_problem (training to a test MSE) and examples/gradient_flow
// (||dL/dh_t|| on the same data), together with the model both train: a recurrent cell over
// the T inputs, a Linear head on the last h, MSE loss.
#pragma once

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "graph/graph.h"
#include "graph/parameter.h"
#include "base/random.h"
#include "models/cell.h"
#include "models/layers.h"
#include "models/stack.h"

namespace tg::examples {

// The mean predictor's expected MSE: the variance of the sum of two U[0,1] values.
inline constexpr double kAddingMeanPredictorMse = 1.0 / 6.0;

struct AddingBatch {
  int64_t steps = 0;
  int64_t batch = 0;
  std::vector<double> inputs = {};   // [T, B, 2] time-major: inputs[(t*B + b)*2 + {0: value, 1: marker}]
  std::vector<double> targets = {};  // [B]
};

// `batch` fresh sequences of `steps` (>= 2) steps drawn from `rng`.
AddingBatch MakeAddingBatch(Rng& rng, int64_t steps, int64_t batch);
// Rows [begin, end) of `b` as a batch of their own (for evaluating a large set in chunks).
AddingBatch SliceAddingBatch(const AddingBatch& b, int64_t begin, int64_t end);

// The model: a cell (input size 2) and a Linear head [H -> 1] on its last output.
struct AddingModel {
  AnyCell cell;
  Linear head;
};

struct AddingModelOptions {
  CellKind kind = CellKind::kLstm;
  int64_t hidden = 128;
  DType dtype = DType::kF32;
  double forget_bias = 0;  // LSTM only; 0 is PyTorch's nn.LSTM
};

// Parameters "rnn.*" (PyTorch's nn.RNN / nn.LSTM layout and init) and "head.*" on `store`
// (GetOrAdd: on a CloneAs() copy of a trained store it binds to the copy).
absl::StatusOr<AddingModel> MakeAddingModel(ParameterStore& store, const AddingModelOptions& options);

struct AddingForward {
  Expr inputs;               // [T, B, 2], the batch's values and markers
  Expr targets;              // [B, 1]
  std::vector<Expr> hidden;  // h_0 .. h_{T-1}, each [B, H] (Unroll's outputs)
  Expr prediction;           // [B, 1]
  Expr loss;                 // MSE over the batch, one element
};

// Builds the forward pass of `batch` on g (in the model's dtype).
AddingForward BuildAddingForward(Graph& g, const AddingModel& model, const AddingBatch& batch,
                                 DType dtype = DType::kF32);

}  // namespace tg::examples
