// Small f32/f64 parameters set from doubles and compared, for the optimizer tests (read them
// with testing::Values).
#pragma once

#include <string>
#include <vector>

#include "graph/parameter.h"
#include "graph/tensor.h"
#include "gtest/gtest.h"

namespace tg::test_util {

// A 1-D parameter holding `v`.
inline Parameter AddParam(ParameterStore& store, const std::string& name, const std::vector<double>& v,
                          DType dtype = DType::kF64) {
  Parameter p = *store.Add(name, {static_cast<int64_t>(v.size())}, Init::Zeros(), dtype);
  for (size_t i = 0; i < v.size(); ++i) {
    if (dtype == DType::kF64) {
      p.value().data<double>()[i] = v[i];
    } else {
      p.value().data<float>()[i] = static_cast<float>(v[i]);
    }
  }
  return p;
}

inline void SetGrad(const Parameter& p, const std::vector<double>& g) {
  for (size_t i = 0; i < g.size(); ++i) {
    if (p.dtype() == DType::kF64) {
      p.grad().data<double>()[i] = g[i];
    } else {
      p.grad().data<float>()[i] = static_cast<float>(g[i]);
    }
  }
}

inline void ExpectNear(const std::vector<double>& got, const std::vector<double>& want,
                       double tol = 1e-12) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], want[i], tol) << "element " << i;
}

}  // namespace tg::test_util
