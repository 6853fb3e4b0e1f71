// Values the tests draw and compare: seeded uniform draws, and every parameter gradient of a
// float64 store in one vector.
#pragma once

#include <cstdint>
#include <vector>

#include "graph/parameter.h"
#include "base/random.h"

namespace tg::testing {

// n values uniform in [-scale, scale), the same on every run and machine.
inline std::vector<double> UniformValues(int64_t n, uint64_t seed, double scale = 1.0) {
  Rng rng(seed);
  std::vector<double> v(n);
  for (double& x : v) x = scale * rng.Uniform(-1, 1);
  return v;
}

// The gradients of all (float64) parameters, in creation order.
inline std::vector<double> AllGradients(const ParameterStore& store) {
  std::vector<double> out;
  for (const Parameter& p : store.parameters()) {
    for (double v : p.grad().span<double>()) out.push_back(v);
  }
  return out;
}

}  // namespace tg::testing
