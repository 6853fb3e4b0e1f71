// Values the tests draw and compare: seeded uniform draws, a tensor's or parameter's
// elements as doubles, and every parameter gradient of a float64 store in one vector.
#pragma once

#include <cstdint>
#include <random>
#include <vector>

#include "base/random.h"
#include "graph/parameter.h"
#include "graph/tensor.h"

namespace tg::testing {

// n values uniform in [-scale, scale) from tg::Rng, the same on every run and machine.
inline std::vector<double> UniformValues(int64_t n, uint64_t seed, double scale = 1.0) {
  Rng rng(seed);
  std::vector<double> v(n);
  for (double& x : v) x = scale * rng.Uniform(-1, 1);
  return v;
}

// n values uniform in [lo, hi) from std::mt19937_64 (the kernel and op tests' draws; no std::
// distribution, whose output is implementation-defined), rounded to T.
template <class T>
std::vector<T> Uniform(int64_t n, double lo, double hi, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<T> v(n);
  for (T& x : v) x = static_cast<T>(lo + (hi - lo) * static_cast<double>(rng() >> 11) * 0x1p-53);
  return v;
}

// The elements of an f32 or f64 tensor, as doubles.
inline std::vector<double> Values(const Tensor& t) {
  std::vector<double> out;
  for (int64_t i = 0; i < t.num_elements(); ++i) {
    out.push_back(t.dtype() == DType::kF64 ? t.data<double>()[i] : t.data<float>()[i]);
  }
  return out;
}

// The elements of a parameter's value, as doubles.
inline std::vector<double> Values(const Parameter& p) { return Values(p.value()); }

// The gradients of all parameters (f32 or f64), as doubles, in creation order.
inline std::vector<double> AllGradients(const ParameterStore& store) {
  std::vector<double> out;
  for (const Parameter& p : store.parameters()) {
    const std::vector<double> g = Values(p.grad());
    out.insert(out.end(), g.begin(), g.end());
  }
  return out;
}

// A run's result and every parameter gradient after it, as doubles in one vector: the
// output's elements, then AllGradients.
inline std::vector<double> OutputAndGradients(const Tensor& output, const ParameterStore& store) {
  std::vector<double> out = Values(output);
  const std::vector<double> grads = AllGradients(store);
  out.insert(out.end(), grads.begin(), grads.end());
  return out;
}

}  // namespace tg::testing
