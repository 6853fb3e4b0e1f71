#include "models/least_squares.h"

#include <cmath>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace tg {

std::vector<double> LinearFit::Predict(absl::Span<const double> x) const {
  if (static_cast<int64_t>(x.size()) != inputs) return {};
  std::vector<double> y(outputs);
  for (int64_t o = 0; o < outputs; ++o) {
    double s = intercept(o);
    for (int64_t i = 0; i < inputs; ++i) s += coefficient(o, i) * x[i];
    y[o] = s;
  }
  return y;
}

absl::StatusOr<LinearFit> FitLeastSquares(absl::Span<const double> x, absl::Span<const double> y,
                                          int64_t rows, double ridge) {
  if (rows < 1 || x.empty() || y.empty() || x.size() % rows != 0 || y.size() % rows != 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "least squares: ", x.size(), " inputs and ", y.size(), " targets do not make ", rows,
        " non-empty rows"));
  }
  if (!(ridge >= 0) || !std::isfinite(ridge)) {
    return absl::InvalidArgumentError(absl::StrCat("least squares: ridge ", ridge, " is not >= 0"));
  }
  const int64_t n_in = static_cast<int64_t>(x.size()) / rows;
  const int64_t n_out = static_cast<int64_t>(y.size()) / rows;
  const int64_t p = n_in + 1;  // the inputs, then 1 for the intercept
  // A = X1^T X1 (lower triangle) and B = X1^T Y [p, n_out].
  std::vector<double> a(p * p, 0.0), b(p * n_out, 0.0), row(p);
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t i = 0; i < n_in; ++i) row[i] = x[r * n_in + i];
    row[n_in] = 1;
    const double* target = &y[r * n_out];
    for (int64_t i = 0; i < p; ++i) {
      if (!std::isfinite(row[i])) {
        return absl::InvalidArgumentError(
            absl::StrCat("least squares: input ", i, " of row ", r, " is ", row[i]));
      }
      for (int64_t j = 0; j <= i; ++j) a[i * p + j] += row[i] * row[j];
    }
    for (int64_t o = 0; o < n_out; ++o) {
      if (!std::isfinite(target[o])) {
        return absl::InvalidArgumentError(
            absl::StrCat("least squares: target ", o, " of row ", r, " is ", target[o]));
      }
      for (int64_t i = 0; i < p; ++i) b[i * n_out + o] += row[i] * target[o];
    }
  }
  double trace = 0;
  for (int64_t i = 0; i < p; ++i) trace += a[i * p + i];
  for (int64_t i = 0; i < p; ++i) a[i * p + i] += ridge * trace / static_cast<double>(p);
  // Cholesky A = L L^T in place (lower triangle).
  for (int64_t j = 0; j < p; ++j) {
    double d = a[j * p + j];
    for (int64_t k = 0; k < j; ++k) d -= a[j * p + k] * a[j * p + k];
    if (!(d > 0)) {
      return absl::FailedPreconditionError(absl::StrCat(
          "least squares: the normal equations of ", rows, " rows x ", n_in,
          " inputs are not positive definite (pivot ", j, "); raise the ridge"));
    }
    const double l = std::sqrt(d);
    a[j * p + j] = l;
    for (int64_t i = j + 1; i < p; ++i) {
      double s = a[i * p + j];
      for (int64_t k = 0; k < j; ++k) s -= a[i * p + k] * a[j * p + k];
      a[i * p + j] = s / l;
    }
  }
  LinearFit fit{.inputs = n_in, .outputs = n_out, .weights = std::vector<double>(n_out * p)};
  std::vector<double> w(p);
  for (int64_t o = 0; o < n_out; ++o) {
    // L v = b, then L^T w = v.
    for (int64_t i = 0; i < p; ++i) {
      double s = b[i * n_out + o];
      for (int64_t k = 0; k < i; ++k) s -= a[i * p + k] * w[k];
      w[i] = s / a[i * p + i];
    }
    for (int64_t i = p - 1; i >= 0; --i) {
      double s = w[i];
      for (int64_t k = i + 1; k < p; ++k) s -= a[k * p + i] * w[k];
      w[i] = s / a[i * p + i];
    }
    for (int64_t i = 0; i < p; ++i) fit.weights[o * p + i] = w[i];
  }
  return fit;
}

}  // namespace tg
