/// \file
/// A blend chosen on few validation values is unreliable: greedy ensemble selection
/// (models/forecast_blend.h) happily puts all the weight on a candidate that was lucky on a
/// handful of windows. ChooseShrunkBlendWeights therefore starts from a safe `anchor` (weights
/// the caller trusts, e.g. the simple forecasters weighed on many out-of-sample windows) and
/// moves towards the selected blend only as far as cross-validation on the validation
/// windows supports:
///
/// - the windows are cut into contiguous folds; for each fold, the blend is selected on the
///   other windows, leaving out those that share a target with the fold ("purged"
///   cross-validation: windows at most `overlap` apart share targets), and its squared error on
///   the fold is compared with the anchor's, giving one honest gain per fold;
/// - with mean gain g and standard error s over the folds, the selected blend gets the share
///   g / s - 1, clipped to [0, 1] and rounded to a multiple of 1 / rounds: nothing when the
///   gain is within one standard error of 0, everything when it is at least two (a gain
///   that large is rarely chance, and keeping part of a far worse anchor would cost more than
///   it hedges), and the anchor gets the rest;
/// - with fewer than `min_folds` folds there is no estimate of the error at all, and the
///   share is `no_estimate_share` (by default one half: when either may be the better, the
///   even mixture has the smallest worst-case excess error, and its squared error is at most
///   the mean of the two).
///
/// \code{.cpp}
///   // Candidates 0, 1: two models; 2, 3: two linear forecasters, trusted 50/50.
///   absl::StatusOr<ShrunkBlendChoice> c = ChooseShrunkBlendWeights(
///       valid, targets, {0, 0, 0.5, 0.5}, {.values_per_window = horizon, .overlap = horizon - 1});
///   std::vector<double> forecast = *BlendForecasts(test, c->weights);
/// \endcode
#pragma once

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace tg {

/// Options of ChooseShrunkBlendWeights.
struct ShrunkBlendOptions {
  int rounds = 20;                ///< Of the greedy selection; the share is a multiple of 1 / rounds.
  int64_t values_per_window = 1;  ///< Consecutive values that belong to one window (its steps).
  int64_t overlap = 0;            ///< Windows at most this far apart share a target (horizon - 1).
  int max_folds = 10;             ///< Folds of at least overlap + 1 windows each, at most this many.
  int min_folds = 3;              ///< Fewer folds than this: no estimate of the gain's error.
  double no_estimate_share = 0.5;  ///< The selected blend's share without an estimate.
};

/// The weights ChooseShrunkBlendWeights picks and the evidence behind them.
struct ShrunkBlendChoice {
  std::vector<double> weights;   ///< share * selected + (1 - share) * anchor.
  std::vector<double> selected;  ///< Greedy ensemble selection on every window.
  double share = 0;              ///< Of the selected blend, in [0, 1].
  int folds = 0;                 ///< Cross-validation folds (0 when fewer than min_folds).
  double gain = 0;     ///< Mean over folds of the anchor's MSE minus the held-out blend's.
  double gain_se = 0;  ///< Its standard error.
  double mse = 0;      ///< Of `weights` on every validation value.
};

/// See the file comment. `candidates[k]` holds candidate k's forecasts of the validation
/// values, window after window; `anchor` holds one weight per candidate (>= 0, summing to 1).
/// InvalidArgument when the anchor does not match the candidates or is not on the simplex,
/// when the number of targets is not a multiple of values_per_window, when an option is out
/// of range, or as ChooseBlendWeights.
absl::StatusOr<ShrunkBlendChoice> ChooseShrunkBlendWeights(
    const std::vector<std::vector<double>>& candidates, absl::Span<const double> targets,
    absl::Span<const double> anchor, const ShrunkBlendOptions& options = {});

}  // namespace tg
