#include "examples/time_series/mackey_glass.h"

#include <cmath>

namespace tg::examples {

std::vector<double> MackeyGlass(const MackeyGlassOptions& o) {
  const int64_t delay = std::llround(o.tau / o.dt);         // grid steps in tau
  const int64_t stride = std::llround(o.sample_every / o.dt);  // grid steps per sample
  const int64_t total_samples = o.drop + o.keep;
  const int64_t steps = (total_samples - 1) * stride;
  auto f = [&](double x, double delayed) {
    return o.beta * delayed / (1 + std::pow(delayed, o.exponent)) - o.gamma * x;
  };
  // x[k] = x(k * dt); indices below 0 read the history.
  std::vector<double> x(static_cast<size_t>(steps + 1));
  x[0] = o.history;
  auto at = [&](int64_t k) { return k < 0 ? o.history : x[k]; };
  for (int64_t k = 0; k < steps; ++k) {
    const double d0 = at(k - delay), d1 = at(k - delay + 1), dh = 0.5 * (d0 + d1);
    const double xk = x[k];
    const double k1 = f(xk, d0);
    const double k2 = f(xk + 0.5 * o.dt * k1, dh);
    const double k3 = f(xk + 0.5 * o.dt * k2, dh);
    const double k4 = f(xk + o.dt * k3, d1);
    x[k + 1] = xk + o.dt / 6 * (k1 + 2 * k2 + 2 * k3 + k4);
  }
  std::vector<double> samples;
  samples.reserve(o.keep);
  for (int64_t s = o.drop; s < total_samples; ++s) samples.push_back(x[s * stride]);
  return samples;
}

}  // namespace tg::examples
