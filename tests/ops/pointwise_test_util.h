// Helpers shared by the pointwise op tests: dtype labels and tolerances (sizes, seeded
// inputs and reads come from the op test helpers).
#pragma once

#include <algorithm>
#include <cmath>
#include <type_traits>
#include <vector>

#include <gtest/gtest.h>

#include "testing/test_values.h"
#include "tests/ops/op_test_util.h"

namespace tg::testing {

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

}  // namespace tg::testing
