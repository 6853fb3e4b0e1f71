#include "models/forecast_blend.h"

#include <cmath>
#include <limits>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace tg {
namespace {

double MeanSquaredError(absl::Span<const double> forecast, absl::Span<const double> targets) {
  double s = 0;
  for (size_t i = 0; i < targets.size(); ++i) {
    const double e = forecast[i] - targets[i];
    s += e * e;
  }
  return s / static_cast<double>(targets.size());
}

}  // namespace

absl::StatusOr<BlendChoice> ChooseBlendWeights(const std::vector<std::vector<double>>& candidates,
                                               absl::Span<const double> targets, int rounds) {
  if (candidates.empty()) return absl::InvalidArgumentError("ChooseBlendWeights: no candidates");
  if (rounds < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("ChooseBlendWeights: rounds is ", rounds, "; at least 1 is needed"));
  }
  const size_t n = targets.size();
  for (size_t k = 0; k < candidates.size(); ++k) {
    if (n == 0 || candidates[k].size() != n) {
      return absl::InvalidArgumentError(absl::StrCat("ChooseBlendWeights: candidate ", k, " has ",
                                                     candidates[k].size(), " values against ", n,
                                                     " targets (the same non-zero number needed)"));
    }
    for (size_t i = 0; i < n; ++i) {
      if (!std::isfinite(candidates[k][i]) || !std::isfinite(targets[i])) {
        return absl::InvalidArgumentError(
            absl::StrCat("ChooseBlendWeights: value ", i, " of candidate ", k, " (",
                         candidates[k][i], ") or target ", i, " (", targets[i], ") is not finite"));
      }
    }
  }
  BlendChoice choice;
  choice.weights.assign(candidates.size(), 0.0);
  for (const std::vector<double>& c : candidates) {
    choice.candidate_mse.push_back(MeanSquaredError(c, targets));
  }
  std::vector<double> sum(n, 0.0), trial(n);
  for (int r = 0; r < rounds; ++r) {
    size_t best = 0;
    double best_mse = std::numeric_limits<double>::infinity();
    for (size_t k = 0; k < candidates.size(); ++k) {
      for (size_t i = 0; i < n; ++i) trial[i] = (sum[i] + candidates[k][i]) / (r + 1);
      const double mse = MeanSquaredError(trial, targets);
      if (mse < best_mse) {
        best_mse = mse;
        best = k;
      }
    }
    for (size_t i = 0; i < n; ++i) sum[i] += candidates[best][i];
    choice.weights[best] += 1;
    choice.mse = best_mse;
  }
  for (double& w : choice.weights) w /= rounds;
  return choice;
}

absl::StatusOr<std::vector<double>> BlendForecasts(
    const std::vector<std::vector<double>>& candidates, absl::Span<const double> weights) {
  if (candidates.size() != weights.size() || candidates.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("BlendForecasts: ", candidates.size(),
                                                   " candidates and ", weights.size(),
                                                   " weights (one per candidate, at least one)"));
  }
  const size_t n = candidates[0].size();
  std::vector<double> out(n, 0.0);
  for (size_t k = 0; k < candidates.size(); ++k) {
    if (candidates[k].size() != n) {
      return absl::InvalidArgumentError(absl::StrCat("BlendForecasts: candidate ", k, " has ",
                                                     candidates[k].size(), " values, candidate 0 ",
                                                     n));
    }
    for (size_t i = 0; i < n; ++i) out[i] += weights[k] * candidates[k][i];
  }
  return out;
}

}  // namespace tg
