/// \file
/// Early stopping on a validation part: after each evaluation, keep a copy of the weights if
/// the validation score is the best so far, stop after `patience` evaluations without
/// improvement, and put the best weights back at the end. The number of updates is then
/// chosen on data the model does not train on, and never on the test part.
///
/// \code{.cpp}
///   EarlyStopping stopping({.patience = 10});
///   for (int64_t step = 1; step <= steps && !stopping.ShouldStop(); ++step) {
///     Train(...);
///     if (step % eval_every == 0) stopping.Observe(step, ValidationLoss(), store);
///   }
///   stopping.Restore(store);  // the weights of best_step()
/// \endcode
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "graph/parameter.h"

namespace tg {

/// Options of EarlyStopping.
struct EarlyStoppingOptions {
  /// Evaluations without a new best after which ShouldStop() is true; 0: never.
  int64_t patience = 0;
  /// A score counts as better only when below the best by more than this.
  double min_delta = 0;
};

/// Tracks the best validation score (lower is better) and the weights that gave it.
class EarlyStopping {
 public:
  /// Nothing observed yet.
  explicit EarlyStopping(EarlyStoppingOptions options = {}) : options_(options) {}

  /// Records the score of the weights in `store` after `step` updates; when it is the best
  /// so far, copies every parameter's values. A NaN or infinite score is never the best.
  /// Returns whether it was.
  bool Observe(int64_t step, double score, const ParameterStore& store);

  /// Whether `patience` evaluations in a row brought no new best.
  bool ShouldStop() const {
    return options_.patience > 0 && since_best_ >= options_.patience;
  }

  /// Copies the best weights back into `store` (the same parameters as observed).
  /// FailedPrecondition when no finite score was observed; NotFound or InvalidArgument from
  /// the store when its parameters are not the ones observed.
  absl::Status Restore(ParameterStore& store) const;

  /// The step of the best score; -1 before one.
  int64_t best_step() const { return best_step_; }
  /// The best score; +infinity before one.
  double best_score() const { return best_score_; }
  /// Evaluations observed so far.
  int64_t evaluations() const { return evaluations_; }

 private:
  EarlyStoppingOptions options_;
  int64_t best_step_ = -1;
  double best_score_ = std::numeric_limits<double>::infinity();
  int64_t evaluations_ = 0;
  int64_t since_best_ = 0;
  std::vector<std::pair<std::string, std::vector<double>>> best_values_;
};

}  // namespace tg
