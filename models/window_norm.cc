#include "models/window_norm.h"

#include <algorithm>
#include <cmath>

namespace tg {

WindowNorm FitWindowNorm(absl::Span<const double> window, const WindowNormOptions& options) {
  WindowNorm norm;
  if (window.empty()) return norm;
  double mean = 0;
  for (double v : window) mean += v;
  mean /= static_cast<double>(window.size());
  switch (options.level) {
    case WindowLevel::kLast: norm.level = window.back(); break;
    case WindowLevel::kMean: norm.level = mean; break;
    case WindowLevel::kNone: norm.level = 0; break;
  }
  if (options.scale) {
    double var = 0;
    for (double v : window) var += (v - mean) * (v - mean);
    const double spread = std::sqrt(var / static_cast<double>(window.size()));
    norm.scale = std::max(spread, options.min_scale);
    if (!(norm.scale > 0) || !std::isfinite(norm.scale)) norm.scale = 1;
  }
  return norm;
}

std::vector<double> NormalizeWindow(absl::Span<const double> window, const WindowNorm& norm,
                                    const WindowNormOptions& options) {
  std::vector<double> out;
  if (options.difference) {
    for (size_t i = 1; i < window.size(); ++i) {
      out.push_back((window[i] - window[i - 1]) / norm.scale);
    }
    return out;
  }
  out.reserve(window.size());
  for (double v : window) out.push_back(norm.Normalize(v));
  return out;
}

int64_t NormalizedWindowSize(int64_t window, const WindowNormOptions& options) {
  return options.difference ? std::max<int64_t>(window - 1, 0) : window;
}

}  // namespace tg
