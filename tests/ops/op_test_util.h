// Helpers shared by the op tests: sizes, exact test values, look an op up, run its kernel
// directly (plain or accumulating) and check error messages.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "gmock/gmock.h"
#include "graph/graph.h"
#include "gtest/gtest.h"
#include "ops/registry.h"
#include "tests/expr_values.h"

namespace tg::testing {

// Sizes that cover a single element, a SIMD remainder and more than one SIMD block.
inline const int64_t kSizes[] = {1, 3, 17, 33};

// Distinct values, exact in float, so copies compare with ==.
template <class T>
std::vector<T> DistinctValues(int64_t n, int seed = 0) {
  std::vector<T> v(n);
  for (int64_t i = 0; i < n; ++i) v[i] = T((i * 37 + seed * 11) % 101) / T(8) - T(6);
  return v;
}

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
                              const Attrs& attrs, bool accumulate, int num_threads = 1) {
  const ExecOptions options{.num_threads = num_threads};
  return op.forward(KernelContext{inputs, out, attrs, accumulate, options});
}

// What the kernel of the built-in op `op` adds when it accumulates into an output of
// `out_shape` pre-filled with the start of `pre`: the output minus `pre`.
template <class T>
std::vector<T> AddedByKernel(std::string_view op, std::vector<Tensor> inputs,
                             const Shape& out_shape, const Attrs& attrs,
                             const std::vector<T>& pre) {
  std::vector<T> out(pre.begin(), pre.begin() + out_shape.num_elements());
  EXPECT_TRUE(RunKernel(Op(op), std::move(inputs), Tensor(out.data(), DTypeOf<T>(), out_shape),
                        attrs, /*accumulate=*/true)
                  .ok());
  for (int64_t i = 0; i < out_shape.num_elements(); ++i) out[i] -= pre[i];
  return out;
}

// The graph failed with INVALID_ARGUMENT and its message contains every part.
inline void ExpectError(const Graph& g, std::initializer_list<std::string_view> parts) {
  EXPECT_EQ(g.status().code(), absl::StatusCode::kInvalidArgument) << g.status();
  const std::string message(g.status().message());
  for (std::string_view p : parts) EXPECT_THAT(message, ::testing::HasSubstr(std::string(p)));
}

}  // namespace tg::testing
