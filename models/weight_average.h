/// \file
/// An exponential moving average of the weights (Polyak averaging with a horizon), kept
/// beside any optimizer: train the raw weights, evaluate and sample with their average. A
/// constant learning rate leaves the weights jittering around a minimum; their average sits
/// nearer its middle (char_lm with Adam 2e-3: 0.015-0.02 bits/char better in its tenth
/// minute; see the README).
///
/// \code{.cpp}
///   Adam adam(store, {.learning_rate = 2e-3});
///   WeightAverage averaged(store, adam, {.decay = 0.999});
///   for (...) { Backward(loss); averaged.Step(); store.ZeroGrad(); }   // adam steps inside
///   { WeightAverage::Swapped use(averaged); Evaluate(model); }          // the average, then back
/// \endcode
///
/// As tf.train.ExponentialMovingAverage with num_updates: after a parameter's t-th step,
/// avg += (1 - d_t) * (value - avg) with d_t = min(decay, (1 + t) / (10 + t)), so early on the
/// average follows the weights rather than remembering their initialisation (the first step
/// copies them). It is a wrapping Optimizer so that checkpoints carry it: its state tensors
/// are the inner optimizer's, then "optimizer.average.step", `optimizer.average.value.<name>`
/// and `optimizer.average.step.<name>` (the Python side drops "optimizer.*").
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "graph/parameter.h"
#include "graph/tensor.h"
#include "models/optimizer.h"
#include "models/optimizers.h"

namespace tg {

/// Options of WeightAverage.
struct WeightAverageOptions {
  double decay = 0.999;  ///< In [0, 1); the average spans about 1 / (1 - decay) steps.
};

/// An exponential moving average of the weights around an inner optimizer (see
/// models/weight_average.h).
class WeightAverage : public Optimizer {
 public:
  /// Keeps pointers to both; they must outlive it and stay where they are.
  WeightAverage(ParameterStore& store, Optimizer& inner, WeightAverageOptions options = {});
  /// InvalidArgument naming the bad option.
  static absl::Status Validate(const WeightAverageOptions& options);

  /// The inner optimizer's step, then every non-frozen parameter folded into its average.
  /// Fails (changing nothing) on bad options or when the average is swapped in: the step
  /// would move the average, not the weights.
  absl::Status Step() override;
  double learning_rate() const override { return inner_->learning_rate(); }
  void set_learning_rate(double lr) override { inner_->set_learning_rate(lr); }
  std::vector<std::pair<std::string, Tensor>> StateTensors() override;

  /// Exchanges every averaged parameter's value with its average, in place; a second call
  /// swaps back. Parameters without an average (frozen from the start, or added since the
  /// last step) keep their values.
  void Swap();
  /// Whether the average is swapped in.
  bool swapped() const { return swapped_; }

  /// Swaps the average in for the guard's lifetime.
  class Swapped {
   public:
    /// Swaps the average in.
    explicit Swapped(WeightAverage& average) : average_(average) { average_.Swap(); }
    /// Swaps the weights back.
    ~Swapped() { average_.Swap(); }
    Swapped(const Swapped&) = delete;
    Swapped& operator=(const Swapped&) = delete;

   private:
    WeightAverage& average_;
  };

 private:
  Optimizer* inner_;
  WeightAverageOptions options_;
  internal::ParamStates states_;
  bool swapped_ = false;
};

}  // namespace tg
