// Both forms of CheckGradients on one loss, for the cell and unroll tests.
#pragma once

#include <functional>
#include <vector>

#include "absl/types/span.h"
#include "autodiff/grad_check.h"
#include "graph/graph.h"
#include "gtest/gtest.h"

namespace tg::test_util {

// Checks d loss / d every parameter of `store` (an f64 store; the inputs fed as values), then
// d loss / d each of `inputs`, against finite differences.
inline void ExpectGradientsMatch(
    ParameterStore& store, const std::vector<GradCheckInput>& inputs,
    const std::function<Expr(Graph&, absl::Span<const Expr>)>& loss) {
  absl::Status s = CheckGradients(store, [&](Graph& g) {
    std::vector<Expr> in;
    for (const GradCheckInput& i : inputs) in.push_back(g.Input(i.shape, i.values));
    return loss(g, in);
  });
  EXPECT_TRUE(s.ok()) << "parameters: " << s;
  s = CheckGradients(loss, inputs);
  EXPECT_TRUE(s.ok()) << "inputs: " << s;
}

}  // namespace tg::test_util
