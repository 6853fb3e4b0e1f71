// Sample inputs for every op, in its domain and away from its kinks, for the registry-driven
// gradient test and examples/grad_check. Adding an op means adding a sample here: the
// registry test fails with "op 'foo' has no sample inputs" until then.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "autodiff/grad_check.h"
#include "graph/graph.h"

namespace tg::testing {

// Where a sample input's values are drawn from.
enum class Domain {
  kAny,           // uniform in [-2, 2]
  kPositive,      // uniform in [0.5, 2] (log, sqrt)
  kAwayFromZero,  // |x| in [0.5, 2], random sign (div, relu's kink)
  kUnit,          // uniform in [-0.9, 0.9] (tanh's output)
  kProbability,   // uniform in [0.1, 0.9] (sigmoid's output)
};

struct SampleInput {
  Shape shape;
  Domain domain = Domain::kAny;
  std::vector<int32_t> ids;  // non-empty: an i32 input with these values
};

struct OpSample {
  std::string op;       // the OpDef name, or the builder's name for a composition
  std::string variant;  // what this sample exercises ("broadcast [3,4]+[4]")
  std::vector<SampleInput> inputs;
  // Builds the op's output (any shape) from the inputs.
  std::function<Expr(Graph&, absl::Span<const Expr>)> build;
};

// Every sample, built-in ops and compositions (mean, split, mse_loss).
const std::vector<OpSample>& OpSamples();
// Names of the compositions that have samples but no OpDef.
std::vector<std::string> CompositeOpNames();

// The f64 inputs for a sample, drawn with a fixed seed.
std::vector<GradCheckInput> MakeInputs(const OpSample& sample, uint64_t seed);

// Checks one sample in float64: loss = sum(output * W) with fixed random weights W (never all
// ones). For an op without a gradient (and for i32 inputs) the gradient must be exactly zero.
absl::Status CheckOpSample(const OpSample& sample, const GradCheckOptions& options,
                           GradCheckReport* report);

}  // namespace tg::testing
