// The Mackey–Glass delay differential equation, the classic chaotic benchmark series:
//   dx/dt = beta * x(t - tau) / (1 + x(t - tau)^n) - gamma * x(t).
#pragma once

#include <cstdint>
#include <vector>

namespace tg::examples {

struct MackeyGlassOptions {
  double tau = 17;
  double beta = 0.2;
  double gamma = 0.1;
  double exponent = 10;       // n
  double dt = 0.1;            // RK4 step; tau / dt must be a whole number
  double history = 1.2;       // x(t) for t <= 0
  double sample_every = 1.0;  // a whole number of steps
  int64_t drop = 1000;        // samples dropped at the start (the transient)
  int64_t keep = 5000;        // samples returned
};

// RK4 from the constant history; the delayed value at a half step is the mean of its two
// grid neighbours. Samples drop .. drop + keep - 1 (sample k is x(k * sample_every)).
std::vector<double> MackeyGlass(const MackeyGlassOptions& options);

}  // namespace tg::examples
