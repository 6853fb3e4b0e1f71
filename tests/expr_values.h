// Reading an Expr's value in a test: a failed read is a test failure, not a crash.
#pragma once

#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "graph/expr.h"
#include "gtest/gtest.h"

namespace tg::testing {

// The elements of e's value as T (empty, with a test failure, if e has no value).
template <class T>
std::vector<T> Read(Expr e) {
  absl::StatusOr<std::vector<T>> v = e.ToVector<T>();
  EXPECT_TRUE(v.ok()) << v.status();
  return v.ok() ? *std::move(v) : std::vector<T>{};
}

}  // namespace tg::testing
