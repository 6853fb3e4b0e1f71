/// \file
/// The optimizer interface. Concrete optimizers (Sgd, Adam, AdamW) live in optimizers.h;
/// checkpoints save and restore any optimizer through StateTensors().
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "graph/tensor.h"

namespace tg {

/// Updates a ParameterStore's parameters from their gradients.
class Optimizer {
 public:
  virtual ~Optimizer() = default;

  /// One update of every parameter that is not frozen, from the gradients now in the store.
  /// Gradients are not zeroed: ParameterStore::ZeroGrad() is the caller's own call.
  virtual absl::Status Step() = 0;

  /// The learning rate the next Step uses.
  virtual double learning_rate() const = 0;
  /// Sets the learning rate for later Steps (an invalid one makes Step fail).
  virtual void set_learning_rate(double lr) = 0;

  /// The optimizer's state as named tensors, created (zeroed) if missing, so a checkpoint can
  /// be loaded into them before the first Step. Names begin with "optimizer." (for example
  /// "optimizer.step", "optimizer.exp_avg.lstm.weight_ih_l0"), which the Python side drops
  /// before load_state_dict.
  virtual std::vector<std::pair<std::string, Tensor>> StateTensors() = 0;
};

}  // namespace tg
