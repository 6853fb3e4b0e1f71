// Helpers shared by the pointwise op tests: sizes, seeded inputs, tolerances.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <type_traits>
#include <vector>

#include <gtest/gtest.h>

#include "graph/expr.h"

namespace tg::testing {

inline const int64_t kSizes[] = {1, 3, 17, 33};

// Uniform in [lo, hi) from a fixed generator (std:: distributions are implementation-defined).
template <class T>
std::vector<T> Uniform(int64_t n, double lo, double hi, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<T> v(n);
  for (T& x : v) x = static_cast<T>(lo + (hi - lo) * static_cast<double>(rng() >> 11) * 0x1p-53);
  return v;
}

template <class T>
const char* DTypeLabel() {
  return std::is_same_v<T, float> ? "f32" : "f64";
}

// Tolerance relative to max(|want|, 1): the kernels' own accuracy is tested in kernels_test;
// here the point is that each op runs the right math on the right elements.
template <class T>
double Tol() {
  return std::is_same_v<T, float> ? 2e-6 : 1e-13;
}

template <class T>
void ExpectAllClose(const std::vector<T>& got, const std::vector<double>& want) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_NEAR(got[i], want[i], Tol<T>() * std::max(1.0, std::fabs(want[i]))) << "at " << i;
  }
}

template <class T>
std::vector<T> Values(Expr e) {
  absl::StatusOr<std::vector<T>> v = e.ToVector<T>();
  EXPECT_TRUE(v.ok()) << v.status();
  return v.ok() ? *std::move(v) : std::vector<T>{};
}

}  // namespace tg::testing
