#include "examples/time_series/compiled_update.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "autodiff/backward.h"
#include "base/status_macros.h"
#include "models/layers.h"
#include "models/losses.h"

namespace tg::examples {
namespace {

void CopyToFloat(const std::vector<double>& from, std::vector<float>& to) {
  std::copy(from.begin(), from.end(), to.begin());
}

}  // namespace

absl::StatusOr<CompiledUpdate> CompiledUpdate::Create(const Forecaster& model,
                                                      const WindowTask& task, int64_t batch,
                                                      int threads, const std::string& dot_path,
                                                      const DotOptions& dot) {
  CompiledUpdate u;
  u.model_ = &model;
  u.batch_ = batch;
  u.horizon_ = task.horizon;
  // Shapes only: the recorded values are replaced by every Run's feeds.
  std::vector<int64_t> ids(batch, 0);
  model.FillInputs(task, ids, u.inputs_);
  const ForecastInputs& in = u.inputs_;
  constexpr DType kF32 = DType::kF32;
  Graph g({.mode = ExecMode::kRecord, .exec = {.num_threads = threads}});
  Expr sequence = HostConstant(g, {in.steps, in.n, in.channels}, in.sequence, kF32);
  Expr linear = HostConstant(g, {in.n, in.steps}, in.linear, kF32);
  Expr scale = HostConstant(g, {in.n, 1}, in.scale, kF32);
  Expr targets = HostConstant(g, {batch, task.horizon},
                              std::vector<double>(batch * task.horizon, 0.0), kF32);
  Expr loss = MseLoss(model.PredictFrom(g, sequence, linear, scale), targets);
  TG_RETURN_IF_ERROR(Backward(loss));
  u.recorded_nodes_ = g.num_nodes();
  if (!dot_path.empty()) TG_RETURN_IF_ERROR(WriteDot(g, dot_path, dot));
  TG_ASSIGN_OR_RETURN(u.program_,
                      Compile(g, {.feeds = {sequence, linear, scale, targets}, .outputs = {loss}}));
  u.sequence_.resize(in.sequence.size());
  u.linear_.resize(in.linear.size());
  u.scale_.resize(in.scale.size());
  u.targets_.resize(batch * task.horizon);
  return u;
}

absl::StatusOr<double> CompiledUpdate::Run(const WindowTask& task, absl::Span<const int64_t> ids,
                                           absl::Span<const double> targets) {
  if (static_cast<int64_t>(ids.size()) != batch_ ||
      static_cast<int64_t>(targets.size()) != batch_ * horizon_) {
    return absl::InvalidArgumentError(absl::StrCat(
        "time_series: the compiled update takes ", batch_, " windows and ", batch_ * horizon_,
        " targets, not ", ids.size(), " and ", targets.size()));
  }
  model_->FillInputs(task, ids, inputs_);
  CopyToFloat(inputs_.sequence, sequence_);
  CopyToFloat(inputs_.linear, linear_);
  CopyToFloat(inputs_.scale, scale_);
  std::copy(targets.begin(), targets.end(), targets_.begin());
  const ForecastInputs& in = inputs_;
  TG_RETURN_IF_ERROR(program_.Run({Tensor(sequence_.data(), DType::kF32, {in.steps, in.n, in.channels}),
                                   Tensor(linear_.data(), DType::kF32, {in.n, in.steps}),
                                   Tensor(scale_.data(), DType::kF32, {in.n, 1}),
                                   Tensor(targets_.data(), DType::kF32, {batch_, horizon_})}));
  return static_cast<double>(program_.output(0).data<float>()[0]);
}

}  // namespace tg::examples
