#include "examples/adding_problem/compiled_step.h"

#include <algorithm>

#include "autodiff/backward.h"
#include "base/status_macros.h"

namespace tg::examples {

absl::StatusOr<CompiledAddingStep> CompiledAddingStep::Create(
    const AddingModel& model, int64_t steps, int64_t batch, const ExecOptions& exec,
    const std::string& dot_path, const DotOptions& dot) {
  Graph g({.mode = ExecMode::kRecord, .exec = exec});
  AddingBatch shape_only{.steps = steps,
                         .batch = batch,
                         .inputs = std::vector<double>(steps * batch * 2, 0.0),
                         .targets = std::vector<double>(batch, 0.0)};
  AddingForward f = BuildAddingForward(g, model, shape_only);
  TG_RETURN_IF_ERROR(Backward(f.loss));
  if (!dot_path.empty()) TG_RETURN_IF_ERROR(WriteDot(g, dot_path, dot));
  CompiledAddingStep step;
  TG_ASSIGN_OR_RETURN(step.program_,
                      Compile(g, {.feeds = {f.inputs, f.targets}, .outputs = {f.loss}}));
  step.inputs_.resize(shape_only.inputs.size());
  step.targets_.resize(shape_only.targets.size());
  return step;
}

absl::StatusOr<double> CompiledAddingStep::Run(const AddingBatch& batch) {
  if (batch.inputs.size() != inputs_.size() || batch.targets.size() != targets_.size()) {
    return absl::InvalidArgumentError("adding_problem: a batch of another shape than compiled");
  }
  std::copy(batch.inputs.begin(), batch.inputs.end(), inputs_.begin());
  std::copy(batch.targets.begin(), batch.targets.end(), targets_.begin());
  TG_RETURN_IF_ERROR(program_.Run(
      {Tensor(inputs_.data(), DType::kF32, {batch.steps, batch.batch, 2}),
       Tensor(targets_.data(), DType::kF32, {batch.batch, 1})}));
  return static_cast<double>(program_.output(0).data<float>()[0]);
}

}  // namespace tg::examples
