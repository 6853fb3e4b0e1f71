// Helpers shared by the op tests: look an op up, run its kernel directly, read values and
// check error messages.
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "gmock/gmock.h"
#include "graph/graph.h"
#include "gtest/gtest.h"
#include "ops/registry.h"

namespace tg::testing {

// The built-in OpDef named `name` (a test failure if there is none).
inline const OpDef& Op(std::string_view name) {
  for (const OpDef* op : BuiltinOps()) {
    if (op->name == name) return *op;
  }
  ADD_FAILURE() << "no op " << name;
  return *BuiltinOps()[0];
}

// Runs op's kernel on tensors of the caller's (possibly unaligned, pre-filled) memory.
inline absl::Status RunKernel(const OpDef& op, std::vector<Tensor> inputs, const Tensor& out,
                              const Attrs& attrs, bool accumulate) {
  const ExecOptions options;
  return op.forward(KernelContext{inputs, out, attrs, accumulate, options});
}

template <class T>
std::vector<T> Read(Expr e) {
  absl::StatusOr<std::vector<T>> v = e.ToVector<T>();
  EXPECT_TRUE(v.ok()) << v.status();
  return v.ok() ? *v : std::vector<T>();
}

// The graph failed with INVALID_ARGUMENT and its message contains every part.
inline void ExpectError(const Graph& g, std::initializer_list<std::string_view> parts) {
  EXPECT_EQ(g.status().code(), absl::StatusCode::kInvalidArgument) << g.status();
  const std::string message(g.status().message());
  for (std::string_view p : parts) EXPECT_THAT(message, ::testing::HasSubstr(std::string(p)));
}

}  // namespace tg::testing
