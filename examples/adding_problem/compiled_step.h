// One training update of the adding-problem model (forward, MSE, backward), recorded once
// and replayed with each fresh batch; gradients land in the parameter store as in eager mode.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "examples/common/adding_data.h"
#include "graph/compile/compiled_graph.h"
#include "graph/dot.h"

namespace tg::examples {

class CompiledAddingStep {
 public:
  // With a non-empty `dot_path`, also writes the recorded step as DOT.
  static absl::StatusOr<CompiledAddingStep> Create(const AddingModel& model, int64_t steps,
                                                   int64_t batch, const ExecOptions& exec,
                                                   const std::string& dot_path,
                                                   const DotOptions& dot);
  // Runs forward and backward on `batch` (its shape must be the recorded one); returns the MSE.
  absl::StatusOr<double> Run(const AddingBatch& batch);
  const CompiledGraph& program() const { return program_; }

 private:
  CompiledGraph program_;
  std::vector<float> inputs_, targets_;
};

}  // namespace tg::examples
