/// \file
/// Per-window normalisation for forecasting, as reversible instance normalisation (RevIN) and
/// DeepAR's per-series scaling do it: each input window is shifted by its own level and
/// divided by its own spread, the model predicts in those units, and the forecast is mapped
/// back. A level the training part never reached (a trending series) then looks like any
/// window seen in training, which a normalisation by the training set's mean and standard
/// deviation cannot give.
///
/// \code{.cpp}
///   WindowNormOptions options{.level = WindowLevel::kLast, .min_scale = 0.1};
///   WindowNorm norm = FitWindowNorm(window, options);
///   std::vector<double> inputs = NormalizeWindow(window, norm, options);
///   double target = norm.Normalize(y_next);            // what the model learns
///   double forecast = norm.Denormalize(model_output);  // original units
/// \endcode
#pragma once

#include <cstdint>
#include <vector>

#include "absl/types/span.h"

namespace tg {

/// What each window is shifted by.
enum class WindowLevel {
  kLast,  ///< Its last value: the model predicts the change from now (persistence is 0).
  kMean,  ///< Its mean.
  kNone,  ///< Nothing (only the scale is divided out).
};

/// Options of FitWindowNorm and NormalizeWindow.
struct WindowNormOptions {
  WindowLevel level = WindowLevel::kLast;  ///< The shift.
  bool scale = true;  ///< Divide by the window's standard deviation (else by 1).
  /// Floor on that spread, in the series' units: a (near) constant window divides by this
  /// instead of by almost 0. Negative values count as 0.
  double min_scale = 0;
  /// Inputs are the window's first differences (one fewer value than the window), divided
  /// by the scale; the level and the targets are as without.
  bool difference = false;
};

/// The shift and the divisor of one window.
struct WindowNorm {
  double level = 0;  ///< Subtracted.
  double scale = 1;  ///< Divides after the shift; always > 0.
  /// `(value - level) / scale`.
  double Normalize(double value) const { return (value - level) / scale; }
  /// `level + scale * z`: the inverse of Normalize.
  double Denormalize(double z) const { return level + scale * z; }
};

/// The level and scale of `window` per `options`. The scale is the window's standard
/// deviation (population), raised to options.min_scale, and 1 when that is still not > 0
/// (or options.scale is false). An empty window gives level 0, scale 1.
WindowNorm FitWindowNorm(absl::Span<const double> window, const WindowNormOptions& options);

/// The values a model reads for `window`: each value normalised by `norm`, or with
/// options.difference the differences of neighbours divided by norm.scale.
std::vector<double> NormalizeWindow(absl::Span<const double> window, const WindowNorm& norm,
                                    const WindowNormOptions& options);

/// How many values NormalizeWindow returns for a window of `window` values.
int64_t NormalizedWindowSize(int64_t window, const WindowNormOptions& options);

}  // namespace tg
