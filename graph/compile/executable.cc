#include "graph/compile/executable.h"

#include <algorithm>
#include <chrono>
#include <cstring>

#include "base/random.h"
#include "fmt/format.h"
#include "graph/compile/fuse_pointwise.h"
#include "graph/compile/parallel_replay.h"
#include "graph/compile/schedule.h"
#include "graph/executor.h"

namespace tg {
namespace compile {

absl::Status Executable::CheckFeeds(absl::Span<const Tensor> given) const {
  if (given.size() != feeds.size()) {
    std::string expected;
    for (size_t i = 0; i < feeds.size(); ++i) {
      expected += fmt::format("{}{} {}", i == 0 ? "" : ", ", shape(feeds[i]), feeds[i].dtype);
    }
    return absl::InvalidArgumentError(
        fmt::format("CompiledGraph::Run: {} feeds given, compiled with {} ({})", given.size(),
                    feeds.size(), expected));
  }
  for (size_t i = 0; i < given.size(); ++i) {
    if (given[i].dtype() != feeds[i].dtype || !(given[i].shape() == shape(feeds[i]))) {
      return absl::InvalidArgumentError(fmt::format(
          "CompiledGraph::Run: feed {} is {} {}, compiled for {} {} {}", i, given[i].shape(),
          given[i].dtype(), shape(feeds[i]), feeds[i].dtype, feed_labels[i]));
    }
    if (!given[i].has_data()) {
      return absl::InvalidArgumentError(
          fmt::format("CompiledGraph::Run: feed {} ({} {}) has no data {}", i, given[i].shape(),
                      given[i].dtype(), feed_labels[i]));
    }
  }
  return absl::OkStatus();
}

}  // namespace compile

namespace {
const Attrs kNoAttrs;  // a zeroing's or a fused run's
}  // namespace

absl::StatusOr<RunContext> RunContext::Create(
    std::shared_ptr<const compile::Executable> program) {
  RunContext c;
  const compile::Executable& p = *program;
  absl::StatusOr<AlignedBuffer> arena =
      TryAllocateAligned(static_cast<size_t>(std::max<int64_t>(p.arena_bytes, 64)));
  if (!arena.ok()) {
    return absl::Status(arena.status().code(),
                        fmt::format("the program's memory: {}", arena.status().message()));
  }
  c.arena_ = *std::move(arena);
  if (p.gradient_bytes > 0) {
    absl::StatusOr<AlignedBuffer> gradients =
        TryAllocateAligned(static_cast<size_t>(p.gradient_bytes));
    if (!gradients.ok()) {
      return absl::Status(gradients.status().code(),
                          fmt::format("the private gradients: {}", gradients.status().message()));
    }
    c.gradients_ = *std::move(gradients);
  }
  // A parallel replay runs up to one step per thread: each worker has its own chunk buffers.
  const int workers = p.schedule != nullptr ? std::max(p.options.num_threads, 1) : 1;
  if (p.scratch_bytes > 0) {
    const int64_t bytes =
        p.scratch_bytes * compile::MaxFusedRanges(p.options.num_threads) * workers;
    absl::StatusOr<AlignedBuffer> scratch = TryAllocateAligned(static_cast<size_t>(bytes));
    if (!scratch.ok()) {
      return absl::Status(scratch.status().code(),
                          fmt::format("the fused runs' chunk buffers: {}",
                                      scratch.status().message()));
    }
    c.chunks_ = *std::move(scratch);
  }
  c.bases_ = {.arena = c.arena_.get(), .gradients = c.gradients_.get(), .shapes = p.shapes.data(),
              .scratch = c.chunks_.get(), .scratch_stride = p.scratch_bytes};
  for (const compile::ConstantBytes& k : p.constants) {
    std::memcpy(c.arena_.get() + k.offset, k.bytes.data(), k.bytes.size());
  }
  for (const compile::Operand& o : p.feeds) c.feeds_.push_back(c.bases_.Bind(o));
  for (const compile::Operand& o : p.outputs) c.outputs_.push_back(c.bases_.Bind(o));
  for (const compile::GradientHome& h : p.private_gradients) {
    const Tensor grad = h.param.grad();
    c.private_gradients_.push_back(
        {h.param, Tensor(c.gradients_.get() + h.offset, grad.dtype(), grad.shape())});
  }
  size_t inputs = 0;
  c.seeded_of_step_.assign(p.steps.size(), -1);
  for (size_t k = 0; k < p.steps.size(); ++k) {
    const compile::Step& s = p.steps[k];
    inputs = std::max(inputs, s.inputs.size());
    if (s.op == nullptr || s.op->seed_attr < 0) continue;
    c.seeded_of_step_[k] = static_cast<int32_t>(c.seeded_.size());
    const Attrs& attrs = p.attrs[s.attrs];
    Seeded seeded{.step = k, .attr = s.op->seed_attr,
                  .recorded_seed = static_cast<uint64_t>(attrs.Int(s.op->seed_attr)),
                  .attrs = attrs};
    // A node may leave the seed out (Attrs::Int reads it as 0); a run writes its slot.
    const size_t slots = static_cast<size_t>(seeded.attr) + 1;
    if (seeded.attrs.ints.size() < slots) seeded.attrs.ints.resize(slots, 0);
    c.seeded_.push_back(std::move(seeded));
  }
  if (p.schedule != nullptr) {
    c.replay_ = std::make_shared<compile::ParallelReplay>(*p.schedule, workers);
  }
  c.scratch_per_worker_ = inputs;
  c.scratch_.resize(inputs * static_cast<size_t>(workers));
  c.program_ = std::move(program);
  return c;
}

absl::Status RunContext::RunStep(size_t k, int worker) {
  const compile::Executable& p = *program_;
  const compile::Step& s = p.steps[k];
  const int32_t seeded = seeded_of_step_[k];
  const Attrs& attrs = seeded >= 0 ? seeded_[seeded].attrs
                       : s.attrs >= 0 ? p.attrs[s.attrs]
                                      : kNoAttrs;
  if (!s.fused.empty()) {
    compile::Bases bases = bases_;
    bases.scratch += static_cast<int64_t>(worker) * p.scratch_bytes *
                     compile::MaxFusedRanges(p.options.num_threads);
    compile::RunFused(s, bases, p.attrs.data(), p.options.num_threads);
    return absl::OkStatus();
  }
  const Tensor output = bases_.Bind(s.output);
  if (s.op == nullptr) {
    output.SetZero();
    return absl::OkStatus();
  }
  Tensor* scratch = scratch_.data() + static_cast<size_t>(worker) * scratch_per_worker_;
  for (size_t i = 0; i < s.inputs.size(); ++i) scratch[i] = bases_.Bind(s.inputs[i]);
  absl::Status status;
  if (s.prepares >= 0) {
    status = s.op->prepare.prepare(
        PrepareContext{.operand = scratch[0], .prepared = output, .attrs = attrs,
                       .options = p.options});
  } else {
    // A prepared form is the last input; the kernel gets it beside its operands.
    const size_t operands = s.inputs.size() - (s.prepared >= 0 ? 1 : 0);
    status = s.op->forward(KernelContext{
        .inputs = absl::MakeConstSpan(scratch, operands),
        .output = output,
        .attrs = attrs,
        .accumulate = s.accumulate,
        .options = p.options,
        .prepared = s.prepared >= 0 ? static_cast<const std::byte*>(scratch[operands].raw())
                                    : nullptr});
    if (status.ok() && p.options.check_numerics) status = CheckFinite(output);
  }
  if (status.ok()) return status;
  return absl::Status(status.code(), fmt::format("{}: {} (compiled, node #{} \"{}\")", s.op->name,
                                                 status.message(), s.node, p.paths[k]));
}

void RunContext::set_step_seconds(std::vector<double>* seconds) {
  step_seconds_ = seconds;
  if (seconds != nullptr) seconds->assign(program_->steps.size(), 0.0);
}

absl::Status RunContext::Run(absl::Span<const Tensor> feeds) {
  const compile::Executable& p = *program_;
  if (absl::Status s = p.CheckFeeds(feeds); !s.ok()) return s;
  for (size_t i = 0; i < feeds.size(); ++i) {
    if (absl::Status s = feeds_[i].CopyFrom(feeds[i]); !s.ok()) return s;
  }
  if (p.gradient_bytes > 0) std::memset(gradients_.get(), 0, static_cast<size_t>(p.gradient_bytes));
  for (Seeded& s : seeded_) {
    s.attrs.ints[s.attr] = static_cast<int64_t>(ReplaySeed(s.recorded_seed, runs_));
  }
  ++runs_;
  if (replay_ != nullptr && parallel_) {
    return replay_->Run(
        [this](int k, int worker) { return RunStep(static_cast<size_t>(k), worker); });
  }
  for (size_t k = 0; k < p.steps.size(); ++k) {
    if (step_seconds_ == nullptr) {
      if (absl::Status s = RunStep(k, 0); !s.ok()) return s;
      continue;
    }
    const auto start = std::chrono::steady_clock::now();
    if (absl::Status s = RunStep(k, 0); !s.ok()) return s;
    (*step_seconds_)[k] =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }
  return absl::OkStatus();
}

}  // namespace tg
