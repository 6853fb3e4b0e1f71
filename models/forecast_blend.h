/// \file
/// Combining forecasters with weights chosen on validation data, by greedy ensemble selection
/// (Caruana et al., "Ensemble selection from libraries of models", ICML 2004; as AutoGluon
/// and auto-sklearn combine their models): starting from nothing, each of `rounds` rounds
/// adds one more copy of the candidate whose addition gives the lowest squared error of the
/// average on the validation targets. A candidate's weight is the share of rounds that
/// picked it, so the weights are on the simplex, a weak candidate gets 0, and few validation
/// values cannot produce the extreme weights an unconstrained least-squares fit would. As
/// the M4 competition's best entries combined statistical methods with learned ones, the
/// candidates may be models of any kind.
///
/// \code{.cpp}
///   // lstm_valid, ar_valid: forecasts of the validation windows; valid_targets: the truth.
///   absl::StatusOr<BlendChoice> choice = ChooseBlendWeights({lstm_valid, ar_valid}, valid_targets);
///   std::vector<double> forecast = BlendForecasts({lstm_test, ar_test}, choice->weights);
/// \endcode
#pragma once

#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace tg {

/// The weights ChooseBlendWeights picks and the errors they were chosen by.
struct BlendChoice {
  std::vector<double> weights;  ///< One per candidate, >= 0, summing to 1.
  double mse = 0;               ///< Of the blend on the validation targets.
  std::vector<double> candidate_mse;  ///< Of each candidate alone.
};

/// Greedy ensemble selection over `rounds` rounds (ties go to the earlier candidate).
/// InvalidArgument when there are no candidates, when rounds < 1, naming the candidate whose
/// length differs from the targets' (or the empty targets), or naming the candidate and
/// position of a value that is not finite.
absl::StatusOr<BlendChoice> ChooseBlendWeights(const std::vector<std::vector<double>>& candidates,
                                               absl::Span<const double> targets,
                                               int rounds = 20);

/// sum_k weights[k] * candidates[k], value by value. InvalidArgument when the numbers of
/// weights and candidates differ, or naming a candidate of another length than the first.
absl::StatusOr<std::vector<double>> BlendForecasts(
    const std::vector<std::vector<double>>& candidates, absl::Span<const double> weights);

}  // namespace tg
