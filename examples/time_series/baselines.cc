#include "examples/time_series/baselines.h"

#include <cmath>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace tg::examples {

std::vector<double> PersistenceForecast(const WindowTask& task) {
  std::vector<double> out(task.num_test);
  for (int64_t k = 0; k < task.num_test; ++k) {
    out[k] = task.series[task.num_train + k + task.window - 1];
  }
  return out;
}

absl::StatusOr<LinearAr> FitLinearAr(const WindowTask& task, double ridge) {
  const int64_t p = task.window + 1;  // features: the window, then 1
  auto z = [&](int64_t i) { return (task.series[i] - task.mean) / task.std; };
  // A = X^T X, b = X^T y over the train windows (row-major p x p).
  std::vector<double> a(p * p, 0.0), b(p, 0.0), row(p);
  for (int64_t w = 0; w < task.num_train; ++w) {
    for (int64_t j = 0; j < task.window; ++j) row[j] = z(w + j);
    row[p - 1] = 1;
    const double y = z(task.target_index(w));
    for (int64_t i = 0; i < p; ++i) {
      b[i] += row[i] * y;
      for (int64_t j = 0; j <= i; ++j) a[i * p + j] += row[i] * row[j];
    }
  }
  double trace = 0;
  for (int64_t i = 0; i < p; ++i) trace += a[i * p + i];
  for (int64_t i = 0; i < p; ++i) a[i * p + i] += ridge * trace / p;
  // Cholesky A = L L^T in the lower triangle.
  for (int64_t j = 0; j < p; ++j) {
    double d = a[j * p + j];
    for (int64_t k = 0; k < j; ++k) d -= a[j * p + k] * a[j * p + k];
    if (!(d > 0)) {
      return absl::FailedPreconditionError(absl::StrCat(
          "linear AR: the normal equations are not positive definite (pivot ", j, ")"));
    }
    const double l = std::sqrt(d);
    a[j * p + j] = l;
    for (int64_t i = j + 1; i < p; ++i) {
      double s = a[i * p + j];
      for (int64_t k = 0; k < j; ++k) s -= a[i * p + k] * a[j * p + k];
      a[i * p + j] = s / l;
    }
  }
  // L v = b, then L^T w = v.
  std::vector<double> w(p);
  for (int64_t i = 0; i < p; ++i) {
    double s = b[i];
    for (int64_t k = 0; k < i; ++k) s -= a[i * p + k] * w[k];
    w[i] = s / a[i * p + i];
  }
  for (int64_t i = p - 1; i >= 0; --i) {
    double s = w[i];
    for (int64_t k = i + 1; k < p; ++k) s -= a[k * p + i] * w[k];
    w[i] = s / a[i * p + i];
  }
  LinearAr result{.weights = w, .test_predictions = std::vector<double>(task.num_test)};
  for (int64_t k = 0; k < task.num_test; ++k) {
    const int64_t win = task.num_train + k;
    double y = w[p - 1];
    for (int64_t j = 0; j < task.window; ++j) y += w[j] * z(win + j);
    result.test_predictions[k] = task.mean + task.std * y;
  }
  return result;
}

}  // namespace tg::examples
