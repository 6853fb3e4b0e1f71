#include "graph/compile/compiled_graph.h"

#include <algorithm>
#include <chrono>
#include <map>

#include "base/status_macros.h"
#include "fmt/format.h"
#include "graph/compile/concurrent_placement.h"
#include "graph/compile/first_writes.h"
#include "graph/compile/from_graph.h"
#include "graph/compile/fuse_pointwise.h"
#include "graph/compile/fusion_plan.h"
#include "graph/compile/lifetimes.h"
#include "graph/compile/lower.h"
#include "graph/compile/memory_plan.h"
#include "graph/compile/prepare_operands.h"
#include "graph/compile/prune.h"
#include "graph/compile/recompute.h"
#include "graph/compile/schedule.h"
#include "graph/compile/sink_passes.h"
#include "graph/compile/stack_rows.h"

namespace tg {
namespace {

// With parallel replay, products whose rows become ready at different times (layer l+1's
// input products, each waiting for layer l's step) are stacked this many steps at a time
// (compile::StackRows): with one, layer l+1 runs one step behind layer l.
constexpr int kParallelStackSteps = 1;

absl::Status CheckSpec(Graph& g, const CompileSpec& spec) {
  TG_RETURN_IF_ERROR(g.status());
  if (g.arena().has_blocks()) {
    return absl::FailedPreconditionError(
        "Compile: Backward reused gradient buffers on this graph; record it with "
        "ExecMode::kRecord, or run Backward with BackwardOptions{.reuse_buffers = false}");
  }
  for (size_t i = 0; i < spec.feeds.size(); ++i) {
    TG_ASSIGN_OR_RETURN(const Node* n, g.Lookup(spec.feeds[i]));
    if (!n->op->is_leaf || n->param != nullptr || g.IsAliasLeaf(spec.feeds[i].id())) {
      return absl::InvalidArgumentError(fmt::format(
          "Compile: feed {} must be an input made by Graph::Input, got {}", i,
          g.NodeLabel(spec.feeds[i].id())));
    }
  }
  for (const Expr& e : spec.outputs) TG_RETURN_IF_ERROR(g.Lookup(e).status());
  return absl::OkStatus();
}

// A leaf's bytes are set by the host (fed, or kept from the recording): nothing may sum
// into them.
absl::Status CheckLeavesAreNotSummedInto(const Graph& g, const compile::Program& program,
                                         absl::Span<const compile::Lifetime> lifetimes) {
  auto check = [&](compile::ValueId v) -> absl::Status {
    const compile::BufferId b = program.values[v].buffer;
    if (b < 0 || !lifetimes[b].accumulated) return absl::OkStatus();
    return absl::UnimplementedError(fmt::format(
        "Compile: {} is a leaf whose memory is accumulated into",
        g.NodeLabel(program.values[v].node)));
  };
  for (compile::ValueId v : program.feeds) TG_RETURN_IF_ERROR(check(v));
  for (const compile::Constant& c : program.constants) TG_RETURN_IF_ERROR(check(c.value));
  return absl::OkStatus();
}

// CompileSpec::private_gradients: each parameter's gradient in the store gets a place in a
// run's private gradients, 64-byte aligned, in node order.
std::vector<compile::GradientHome> GradientHomes(const Graph& g, int64_t& bytes) {
  std::vector<compile::GradientHome> homes;
  bytes = 0;
  for (NodeId id = 0; id < g.num_nodes(); ++id) {
    ParamData* p = g.node(id).param;
    if (p == nullptr || p->grad_buffer == nullptr) continue;
    homes.push_back({Parameter(p), bytes});
    bytes += static_cast<int64_t>((p->grad().num_bytes() + 63) / 64 * 64);
  }
  return homes;
}

std::vector<compile::Relocation> Relocations(absl::Span<const compile::GradientHome> homes) {
  std::vector<compile::Relocation> out;
  for (const compile::GradientHome& h : homes) {
    const Tensor grad = h.param.grad();
    out.push_back({.begin = static_cast<const std::byte*>(grad.raw()),
                   .bytes = static_cast<int64_t>(grad.num_bytes()),
                   .offset = h.offset});
  }
  return out;
}

// Wall seconds per pass, for CompiledGraph::pass_seconds.
class PassClock {
 public:
  void Lap(const char* pass) {
    const auto now = std::chrono::steady_clock::now();
    laps_.emplace_back(pass, std::chrono::duration<double>(now - last_).count());
    last_ = now;
  }
  double total() const { return std::chrono::duration<double>(last_ - start_).count(); }
  std::vector<std::pair<std::string, double>> laps() && { return std::move(laps_); }

 private:
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now(),
                                        last_ = start_;
  std::vector<std::pair<std::string, double>> laps_;
};

std::vector<NodeId> Ids(absl::Span<const Expr> exprs) {
  std::vector<NodeId> ids;
  for (const Expr& e : exprs) ids.push_back(e.id());
  return ids;
}

// A step's name in listings: its op's, "prepare <op>" for a step that prepares an operand.
std::string StepOpName(const compile::Step& s) {
  return s.prepares >= 0 ? fmt::format("prepare_{}", s.op->name) : std::string(s.op->name);
}

}  // namespace

absl::StatusOr<CompiledGraph> Compile(Graph& g, const CompileSpec& spec) {
  PassClock clock;
  TG_RETURN_IF_ERROR(CheckSpec(g, spec));
  // The passes, in order (docs/compiled_mode.md).
  compile::Program program = compile::ProgramFromGraph(g, Ids(spec.feeds), Ids(spec.outputs));
  clock.Lap("from_graph");
  compile::RecomputeStats recomputed;
  if (spec.recompute || spec.cut_at_checkpoints) {
    if (g.checkpoints().empty()) {
      return absl::InvalidArgumentError(
          "Compile: CompileSpec::recompute and cut_at_checkpoints need checkpoints, and the "
          "graph has none (Graph::MarkCheckpoint, UnrollOptions::checkpoint_every)");
    }
    program = compile::CutAtCheckpoints(std::move(program), spec.recompute, &recomputed);
  }
  clock.Lap("recompute");
  int64_t prune_work = 0;
  program = compile::Prune(std::move(program), &prune_work);
  clock.Lap("prune");
  compile::StackStats stacked;
  const bool parallel = spec.parallel_replay && g.exec_options().num_threads > 1;
  if (spec.stack_rows) {
    program = compile::StackRows(program, &stacked, parallel ? kParallelStackSteps : 0);
  }
  clock.Lap("stack_rows");
  compile::PrepareStats prepared;
  if (spec.prepare_operands) program = compile::PrepareOperands(std::move(program), &prepared);
  clock.Lap("prepare_operands");
  // Parallel replay's placement and schedule were measured without it.
  if (spec.fuse_pointwise && !parallel) program = compile::SinkPasses(std::move(program));
  clock.Lap("sink_passes");
  int64_t first_writes = 0;
  if (spec.write_first_sums) program = compile::WriteFirstSums(std::move(program), &first_writes);
  clock.Lap("first_writes");
  std::vector<compile::Lifetime> lifetimes =
      compile::ComputeLifetimes(program, spec.write_first_sums);
  TG_RETURN_IF_ERROR(CheckLeavesAreNotSummedInto(g, program, lifetimes));
  clock.Lap("lifetimes");
  // check_numerics names the op that made a NaN, so each op keeps its own step.
  const bool fuse = spec.fuse_pointwise && !g.exec_options().check_numerics;
  compile::FusionPlan fusion;
  if (fuse) {
    fusion = compile::PlanFusion(program, lifetimes);
    lifetimes = compile::FusedLifetimes(std::move(lifetimes), program, fusion);
  }
  clock.Lap("fuse_pointwise");
  // Steps that may run at once must not share memory (graph/compile/concurrent_placement.h).
  const compile::Placement placement = parallel
                                           ? compile::PlaceMemoryConcurrently(program, lifetimes)
                                           : compile::PlaceMemory(program, lifetimes);
  clock.Lap("place_memory");
  int64_t gradient_bytes = 0;
  std::vector<compile::GradientHome> homes;
  if (spec.private_gradients) homes = GradientHomes(g, gradient_bytes);
  compile::Executable exe = compile::Lower(program, lifetimes, placement, Relocations(homes),
                                           fuse ? &fusion : nullptr);
  clock.Lap("lower");
  if (parallel) {
    exe.schedule = std::make_shared<const compile::Schedule>(compile::BuildSchedule(exe.steps));
  }
  clock.Lap("schedule");

  CompiledGraph c;
  for (const compile::Step& s : exe.steps) {
    exe.paths.push_back(s.zeroes() ? "zero" : g.NodePath(s.node));
    c.num_kernels_ += s.zeroes() ? 0 : 1;
    c.num_fused_runs_ += s.fused.empty() ? 0 : 1;
    if (s.run != nullptr) c.num_tile_calls_ += compile::TileCalls(*s.run);
  }
  for (const Expr& e : spec.feeds) exe.feed_labels.push_back(g.NodeLabel(e.id()));
  exe.private_gradients = std::move(homes);
  exe.gradient_bytes = gradient_bytes;
  exe.options = g.exec_options();
  c.num_stacked_ = stacked.stacked_nodes;
  c.num_prepared_ = prepared.forms;
  c.num_first_writes_ = static_cast<int>(first_writes);
  c.num_segments_ = recomputed.segments;
  c.num_recomputed_ = recomputed.copies;
  c.compile_work_ = prune_work + stacked.work + placement.work;
  c.program_ = std::make_shared<const compile::Executable>(std::move(exe));
  if (spec.own_context) {
    absl::StatusOr<RunContext> context = RunContext::Create(c.program_);
    if (!context.ok()) {
      return absl::Status(context.status().code(),
                          fmt::format("Compile: {}", context.status().message()));
    }
    c.context_ = std::make_unique<RunContext>(*std::move(context));
  }
  clock.Lap("context");
  c.compile_seconds_ = clock.total();
  c.pass_seconds_ = std::move(clock).laps();
  return c;
}

absl::Status CompiledGraph::Run(absl::Span<const Tensor> feeds) {
  if (program_ == nullptr) {
    return absl::FailedPreconditionError("CompiledGraph::Run: nothing was compiled into it");
  }
  if (context_ == nullptr) {
    return absl::FailedPreconditionError(
        "CompiledGraph::Run: compiled without its own context (CompileSpec::own_context); run "
        "it in a context from NewContext");
  }
  return context_->Run(feeds);
}

const Tensor& CompiledGraph::output(int i) const {
  static const Tensor* const kEmpty = new Tensor;
  return context_ ? context_->output(i) : *kEmpty;
}

absl::Status CompiledGraph::Run(RunContext& context, absl::Span<const Tensor> feeds) const {
  if (program_ == nullptr || &context.program() != program_.get()) {
    return absl::InvalidArgumentError(
        "CompiledGraph::Run: the RunContext was made for another program (use NewContext)");
  }
  return context.Run(feeds);
}

absl::StatusOr<RunContext> CompiledGraph::NewContext() const {
  if (program_ == nullptr) {
    return absl::FailedPreconditionError(
        "CompiledGraph::NewContext: nothing was compiled into it");
  }
  return RunContext::Create(program_);
}

absl::Status CompiledGraph::CheckFeeds(absl::Span<const Tensor> feeds) const {
  if (program_ == nullptr) {
    return absl::FailedPreconditionError("CompiledGraph::Run: nothing was compiled into it");
  }
  return program_->CheckFeeds(feeds);
}

const std::vector<PrivateGradient>& CompiledGraph::private_gradients() const {
  static const std::vector<PrivateGradient>* const kNone = new std::vector<PrivateGradient>;
  return context_ ? context_->private_gradients() : *kNone;
}

std::vector<std::pair<std::string, int>> CompiledGraph::KernelsByOp() const {
  if (program_ == nullptr) return {};
  std::map<std::string, int> counts;
  for (const compile::Step& s : program_->steps) {
    if (s.op != nullptr) ++counts[StepOpName(s)];
    for (const compile::Step& m : s.fused) ++counts[std::string(m.op->name)];
  }
  std::vector<std::pair<std::string, int>> out(counts.begin(), counts.end());
  // Most first, then by name (a total order: no std::stable_sort and its temporary buffer).
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
    return a.second != b.second ? a.second > b.second : a.first < b.first;
  });
  return out;
}

std::string CompiledGraph::Listing() const {
  if (program_ == nullptr) return "(nothing compiled)\n";
  std::string out;
  const compile::Executable& p = *program_;
  for (size_t k = 0; k < p.steps.size(); ++k) {
    const compile::Step& s = p.steps[k];
    const std::string name = !s.fused.empty() ? fmt::format("fused {}", s.fused.size())
                             : s.zeroes()     ? "zero"
                                              : StepOpName(s);
    out += fmt::format("{} {}{} {}{}{} {}\n", k, name,
                       s.stacked > 1 ? fmt::format(" x{}", s.stacked) : "", p.shape(s.output),
                       s.accumulate ? " +=" : "", s.prepared >= 0 ? " (prepared)" : "",
                       p.paths[k]);
    // A fused run's members, indented, and the tile calls the run makes.
    for (const compile::Step& m : s.fused) {
      out += fmt::format("    . {} {}{}\n", m.op->name, p.shape(m.output),
                         m.accumulate ? " +=" : "");
    }
    if (s.run != nullptr) out += fmt::format("    tile calls {}\n", compile::TileCalls(*s.run));
  }
  std::string by_op;
  for (const auto& [name, count] : KernelsByOp()) {
    by_op += fmt::format("{}{} {}", by_op.empty() ? "" : ", ", name, count);
  }
  out += fmt::format(
      "kernels {} (fused runs {}, stacked nodes {}), peak bytes {}, compiled in {:.3f} s\n"
      "ops: {}\n",
      num_kernels_, num_fused_runs_, num_stacked_, peak_bytes(), compile_seconds_, by_op);
  out += fmt::format("tile calls {} (in fused runs)\n", num_tile_calls_);
  if (num_prepared_ > 0) out += fmt::format("prepared operands {}\n", num_prepared_);
  if (num_first_writes_ > 0) out += fmt::format("first sums written {}\n", num_first_writes_);
  if (num_segments_ > 0) {
    out += fmt::format("segments {}, instructions made again {}\n", num_segments_,
                       num_recomputed_);
  }
  return out;
}

}  // namespace tg
