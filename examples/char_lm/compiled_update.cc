#include "examples/char_lm/compiled_update.h"

#include <algorithm>

#include "autodiff/backward.h"
#include "graph/dot.h"
#include "graph/status_macros.h"
#include "ops/ops.h"

namespace tg::examples {

absl::StatusOr<CompiledUpdate> CompiledUpdate::Create(const CharModel& model, int64_t steps,
                                                      int64_t batch, int threads,
                                                      const std::string& dot_path,
                                                      Rng& dropout_rng) {
  Graph g({.mode = ExecMode::kRecord, .exec = {.num_threads = threads}});
  Expr ids = g.Input(Shape{steps, batch}, std::vector<int32_t>(steps * batch, 0));
  Expr targets = g.Input(Shape{steps * batch}, std::vector<int32_t>(steps * batch, 0));
  CompiledUpdate u;
  u.steps_ = steps;
  u.batch_ = batch;
  CompileSpec spec{.feeds = {ids, targets}, .outputs = {}};
  std::vector<State> initial;
  for (const State& zero : model.ZeroState(g, batch)) {
    State s;
    for (Expr State::*part : {&State::h, &State::c}) {
      if (!(zero.*part).valid()) continue;
      const Shape shape = (zero.*part).shape();
      s.*part = g.Input(shape, std::vector<float>(shape.num_elements(), 0.0f));
      spec.feeds.push_back(s.*part);
      u.state_shapes_.push_back(shape);
    }
    initial.push_back(s);
  }
  CharModel::Output out = model.Run(g, ids, initial, &dropout_rng);
  Expr loss = SoftmaxCrossEntropy(out.logits, targets);
  TG_RETURN_IF_ERROR(Backward(loss));
  spec.outputs.push_back(loss);
  for (const State& s : out.final) {
    for (Expr State::*part : {&State::h, &State::c}) {
      if ((s.*part).valid()) spec.outputs.push_back(s.*part);
    }
  }
  if (!dot_path.empty()) {
    TG_RETURN_IF_ERROR(WriteDot(g, dot_path, {.title = "char_lm: one step and its backward",
                                              .only_scope = "l0/step_1"}));
  }
  TG_ASSIGN_OR_RETURN(u.program_, Compile(g, spec));
  u.ResetState();
  return u;
}

void CompiledUpdate::ResetState() {
  state_.clear();
  for (const Shape& s : state_shapes_) state_.emplace_back(s.num_elements(), 0.0f);
}

absl::StatusOr<double> CompiledUpdate::Run(absl::Span<const int32_t> ids,
                                           absl::Span<const int32_t> targets) {
  std::vector<Tensor> feeds = {
      Tensor(const_cast<int32_t*>(ids.data()), DType::kI32, {steps_, batch_}),
      Tensor(const_cast<int32_t*>(targets.data()), DType::kI32, {steps_ * batch_})};
  for (size_t i = 0; i < state_.size(); ++i) {
    feeds.emplace_back(state_[i].data(), DType::kF32, state_shapes_[i]);
  }
  TG_RETURN_IF_ERROR(program_.Run(feeds));
  for (size_t i = 0; i < state_.size(); ++i) {  // carried into the next chunk
    std::span<const float> h = program_.output(static_cast<int>(i) + 1).span<float>();
    std::copy(h.begin(), h.end(), state_[i].begin());
  }
  return static_cast<double>(program_.output(0).data<float>()[0]);
}

}  // namespace tg::examples
