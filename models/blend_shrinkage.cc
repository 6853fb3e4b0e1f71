#include "models/blend_shrinkage.h"

#include <algorithm>
#include <cmath>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "models/forecast_blend.h"

namespace tg {
namespace {

// The mean squared error of sum_k weights[k] * candidates[k] against the targets over
// values [begin, end).
double BlendMse(const std::vector<std::vector<double>>& candidates, absl::Span<const double> weights,
                absl::Span<const double> targets, size_t begin, size_t end) {
  double s = 0;
  for (size_t i = begin; i < end; ++i) {
    double f = 0;
    for (size_t k = 0; k < candidates.size(); ++k) f += weights[k] * candidates[k][i];
    s += (f - targets[i]) * (f - targets[i]);
  }
  return s / static_cast<double>(end - begin);
}

absl::Status CheckArguments(const std::vector<std::vector<double>>& candidates,
                            absl::Span<const double> targets, absl::Span<const double> anchor,
                            const ShrunkBlendOptions& options) {
  if (anchor.size() != candidates.size()) {
    return absl::InvalidArgumentError(absl::StrCat("ChooseShrunkBlendWeights: ", anchor.size(),
                                                   " anchor weights for ", candidates.size(),
                                                   " candidates (one per candidate needed)"));
  }
  double sum = 0;
  for (size_t k = 0; k < anchor.size(); ++k) {
    if (!(anchor[k] >= 0) || !std::isfinite(anchor[k])) {
      return absl::InvalidArgumentError(absl::StrCat("ChooseShrunkBlendWeights: anchor weight ",
                                                     k, " is ", anchor[k], " (>= 0 needed)"));
    }
    sum += anchor[k];
  }
  if (std::abs(sum - 1) > 1e-9) {
    return absl::InvalidArgumentError(
        absl::StrCat("ChooseShrunkBlendWeights: the anchor weights sum to ", sum, ", not 1"));
  }
  if (options.values_per_window < 1 || options.overlap < 0 || options.max_folds < 1 ||
      options.min_folds < 2 || !(options.no_estimate_share >= 0) ||
      !(options.no_estimate_share <= 1)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "ChooseShrunkBlendWeights: values_per_window ", options.values_per_window, ", overlap ",
        options.overlap, ", max_folds ", options.max_folds, ", min_folds ", options.min_folds,
        ", no_estimate_share ", options.no_estimate_share,
        " (>= 1, >= 0, >= 1, >= 2 and in [0, 1] needed)"));
  }
  if (targets.size() % options.values_per_window != 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "ChooseShrunkBlendWeights: ", targets.size(), " targets are not whole windows of ",
        options.values_per_window, " values"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<ShrunkBlendChoice> ChooseShrunkBlendWeights(
    const std::vector<std::vector<double>>& candidates, absl::Span<const double> targets,
    absl::Span<const double> anchor, const ShrunkBlendOptions& options) {
  if (absl::Status s = CheckArguments(candidates, targets, anchor, options); !s.ok()) return s;
  absl::StatusOr<BlendChoice> all = ChooseBlendWeights(candidates, targets, options.rounds);
  if (!all.ok()) return all.status();
  ShrunkBlendChoice out;
  out.selected = all->weights;

  // Contiguous folds of whole windows, each at least overlap + 1 windows long so that a fold's
  // purged neighbourhood never swallows the next fold whole.
  const int64_t per = options.values_per_window;
  const int64_t windows = static_cast<int64_t>(targets.size()) / per;
  const int64_t fold_size =
      std::max(options.overlap + 1, (windows + options.max_folds - 1) / options.max_folds);
  const int64_t folds = windows / fold_size;
  std::vector<double> gains;
  if (folds >= options.min_folds) {
    for (int64_t f = 0; f < folds; ++f) {
      const int64_t begin = f * fold_size, end = f + 1 == folds ? windows : begin + fold_size;
      // Select on the windows that share no target with the fold.
      std::vector<std::vector<double>> kept(candidates.size());
      std::vector<double> kept_targets;
      for (int64_t w = 0; w < windows; ++w) {
        if (w > begin - 1 - options.overlap && w < end + options.overlap) continue;
        for (size_t k = 0; k < candidates.size(); ++k) {
          kept[k].insert(kept[k].end(), candidates[k].begin() + w * per,
                         candidates[k].begin() + (w + 1) * per);
        }
        kept_targets.insert(kept_targets.end(), targets.begin() + w * per,
                            targets.begin() + (w + 1) * per);
      }
      if (kept_targets.empty()) {
        gains.clear();  // no honest estimate: stay at the anchor
        break;
      }
      absl::StatusOr<BlendChoice> held_out =
          ChooseBlendWeights(kept, kept_targets, options.rounds);
      if (!held_out.ok()) return held_out.status();
      const size_t a = begin * per, b = end * per;
      gains.push_back(BlendMse(candidates, anchor, targets, a, b) -
                      BlendMse(candidates, held_out->weights, targets, a, b));
    }
  }
  if (!gains.empty()) {
    out.folds = static_cast<int>(gains.size());
    double mean = 0, var = 0;
    for (double g : gains) mean += g;
    mean /= static_cast<double>(gains.size());
    for (double g : gains) var += (g - mean) * (g - mean);
    var /= static_cast<double>(gains.size() - 1);
    out.gain = mean;
    out.gain_se = std::sqrt(var / static_cast<double>(gains.size()));
    // The gain in standard errors: within one, nothing; at least two, everything.
    const double t = out.gain_se > 0 ? mean / out.gain_se : (mean > 0 ? 2.0 : 0.0);
    out.share = std::clamp(t - 1, 0.0, 1.0);
  } else {
    out.share = options.no_estimate_share;
  }
  out.share = std::round(out.share * options.rounds) / options.rounds;
  out.weights.resize(candidates.size());
  for (size_t k = 0; k < candidates.size(); ++k) {
    out.weights[k] = out.share * out.selected[k] + (1 - out.share) * anchor[k];
  }
  out.mse = BlendMse(candidates, out.weights, targets, 0, targets.size());
  return out;
}

}  // namespace tg
