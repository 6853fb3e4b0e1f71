#include "examples/char_lm/compiled_update.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "autodiff/backward.h"
#include "graph/compile/replicas.h"
#include "graph/dot.h"
#include "base/status_macros.h"
#include "ops/ops.h"

namespace tg::examples {

absl::StatusOr<CompiledUpdate::Replica> CompiledUpdate::Record(
    const CharModel& model, int64_t steps, int64_t begin, int64_t batch, int threads,
    bool private_gradients, int64_t recompute_every, const std::string& dot_path,
    Rng& dropout_rng) {
  Graph g({.mode = ExecMode::kRecord, .exec = {.num_threads = threads}});
  Expr ids = g.Input(Shape{steps, batch}, std::vector<int32_t>(steps * batch, 0));
  Expr targets = g.Input(Shape{steps * batch}, std::vector<int32_t>(steps * batch, 0));
  Replica r;
  r.begin = begin;
  r.batch = batch;
  CompileSpec spec{.feeds = {ids, targets},
                   .outputs = {},
                   .private_gradients = private_gradients,
                   .recompute = recompute_every > 0};
  std::vector<State> initial;
  for (const State& zero : model.ZeroState(g, batch)) {
    r.layer_parts.push_back(zero.c.valid() ? 2 : 1);
    State s;
    for (Expr State::*part : {&State::h, &State::c}) {
      if (!(zero.*part).valid()) continue;
      const Shape shape = (zero.*part).shape();
      s.*part = g.Input(shape, std::vector<float>(shape.num_elements(), 0.0f));
      spec.feeds.push_back(s.*part);
      r.state_shapes.push_back(shape);
    }
    initial.push_back(s);
  }
  CharModel::Output out = model.Run(g, ids, initial, &dropout_rng, recompute_every);
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
  TG_ASSIGN_OR_RETURN(r.program, Compile(g, spec));
  r.ids.resize(steps * batch);
  r.targets.resize(steps * batch);
  return r;
}

absl::StatusOr<CompiledUpdate> CompiledUpdate::Create(const CharModel& model, int64_t steps,
                                                      int64_t batch, int64_t first,
                                                      int64_t streams, int threads, int replicas,
                                                      int64_t recompute_every,
                                                      const std::string& dot_path,
                                                      Rng& dropout_rng) {
  if (first < 0 || streams < 1 || first + streams > batch) {
    return absl::InvalidArgumentError(absl::StrCat("compiled update: streams [", first, ", ",
                                                   first + streams, ") of a batch of ", batch));
  }
  if (replicas < 1 || replicas > streams) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--replicas=", replicas, ": must be between 1 and the streams of an update (", streams, ")"));
  }
  CompiledUpdate u;
  u.steps_ = steps;
  u.batch_ = batch;
  u.first_ = first;
  u.streams_ = streams;
  u.threads_ = threads;
  int64_t begin = first;
  for (int i = 0; i < replicas; ++i) {  // the first streams % replicas slices one stream more
    const int64_t rows = streams / replicas + (i < streams % replicas ? 1 : 0);
    TG_ASSIGN_OR_RETURN(Replica r, Record(model, steps, begin, rows, replicas > 1 ? 1 : threads,
                                          replicas > 1, recompute_every, i == 0 ? dot_path : "",
                                          dropout_rng));
    r.share = static_cast<double>(rows) / static_cast<double>(streams);
    u.replicas_.push_back(std::move(r));
    begin += rows;
  }
  u.ResetState();
  return u;
}

void CompiledUpdate::ResetState() {
  for (Replica& r : replicas_) {
    r.state.clear();
    for (const Shape& s : r.state_shapes) r.state.emplace_back(s.num_elements(), 0.0f);
  }
}

std::vector<HostState> CompiledUpdate::CarriedState() const {
  std::vector<HostState> out;
  size_t index = 0;  // into each replica's state
  for (int parts : replicas_[0].layer_parts) {
    const int64_t hidden = replicas_[0].state_shapes[index].dim(1);
    HostState s{.shape = {streams_, hidden}, .dtype = DType::kF32};
    for (int part = 0; part < parts; ++part) {
      std::vector<double>& into = part == 0 ? s.h : s.c;
      for (const Replica& r : replicas_) {  // slices of consecutive streams, in order
        into.insert(into.end(), r.state[index + part].begin(), r.state[index + part].end());
      }
    }
    index += static_cast<size_t>(parts);
    out.push_back(std::move(s));
  }
  return out;
}

absl::Status CompiledUpdate::SetCarriedState(const std::vector<HostState>& state) {
  const std::vector<int>& layer_parts = replicas_[0].layer_parts;
  bool fits = state.size() == layer_parts.size();
  for (size_t l = 0, index = 0; fits && l < state.size(); index += layer_parts[l], ++l) {
    const Shape& slice = replicas_[0].state_shapes[index];
    fits = state[l].shape == Shape{streams_, slice.dim(1)} &&
           static_cast<int64_t>(state[l].h.size()) == streams_ * slice.dim(1) &&
           (layer_parts[l] == 2 ? state[l].c.size() == state[l].h.size() : state[l].c.empty());
  }
  if (!fits) {
    return absl::InvalidArgumentError(absl::StrCat(
        "compiled update: the carried state does not fit ", layer_parts.size(), " layers of ",
        streams_, " streams"));
  }
  for (Replica& r : replicas_) {
    size_t index = 0;
    for (size_t l = 0; l < state.size(); ++l) {
      for (int part = 0; part < layer_parts[l]; ++part, ++index) {
        const std::vector<double>& from = part == 0 ? state[l].h : state[l].c;
        const int64_t hidden = r.state_shapes[index].dim(1);
        std::copy_n(from.begin() + (r.begin - first_) * hidden, r.batch * hidden,
                    r.state[index].begin());
      }
    }
  }
  return absl::OkStatus();
}

void CompiledUpdate::set_run_count(uint64_t runs) {
  for (Replica& r : replicas_) r.program.set_run_count(runs);
}

std::vector<Tensor> CompiledUpdate::Replica::Feeds() {
  const int64_t steps = static_cast<int64_t>(ids.size()) / batch;
  std::vector<Tensor> feeds = {Tensor(ids.data(), DType::kI32, {steps, batch}),
                               Tensor(targets.data(), DType::kI32, {steps * batch})};
  for (size_t i = 0; i < state.size(); ++i) {
    feeds.emplace_back(state[i].data(), DType::kF32, state_shapes[i]);
  }
  return feeds;
}

void CompiledUpdate::Replica::CarryState() {  // into the next chunk
  for (size_t i = 0; i < state.size(); ++i) {
    std::span<const float> h = program.output(static_cast<int>(i) + 1).span<float>();
    std::copy(h.begin(), h.end(), state[i].begin());
  }
}

absl::StatusOr<double> CompiledUpdate::Run(absl::Span<const int32_t> ids,
                                           absl::Span<const int32_t> targets) {
  for (Replica& r : replicas_) {  // this slice's streams of each time step
    for (int64_t t = 0; t < steps_; ++t) {
      std::copy_n(ids.begin() + t * batch_ + r.begin, r.batch, r.ids.begin() + t * r.batch);
      std::copy_n(targets.begin() + t * batch_ + r.begin, r.batch, r.targets.begin() + t * r.batch);
    }
  }
  double loss = 0;
  if (replicas_.size() == 1) {
    TG_RETURN_IF_ERROR(replicas_[0].program.Run(replicas_[0].Feeds()));
  } else {
    std::vector<CompiledGraph*> programs;
    std::vector<std::vector<Tensor>> feeds;
    std::vector<double> shares;
    for (Replica& r : replicas_) {
      programs.push_back(&r.program);
      feeds.push_back(r.Feeds());
      shares.push_back(r.share);
    }
    TG_RETURN_IF_ERROR(RunReplicas(programs, feeds, shares, threads_));
  }
  for (Replica& r : replicas_) {
    r.CarryState();
    loss += r.share * static_cast<double>(r.program.output(0).data<float>()[0]);
  }
  return loss;
}

}  // namespace tg::examples
