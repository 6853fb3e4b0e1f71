/// \file
/// The compiled static unroll: a recorded graph (forward plus the backward nodes Backward
/// appended) turned into a flat list of steps that Run() replays with new feeds: no graph
/// walk, no allocation, no shape inference. Compile is a short pipeline of passes over a
/// program of value ids (graph/compile/program.h), each in its own file:
///
///   ProgramFromGraph -> [CutAtCheckpoints] -> Prune -> StackRows (time batching) ->
///   PrepareOperands -> ComputeLifetimes -> PlaceMemory -> Lower -> FusePointwise ->
///   [BuildSchedule]
///
/// It reads only what each OpDef declares, so a user's cell or op gets the same treatment as
/// a built-in one (docs/compiled_mode.md lists what each pass reads).
///
/// \code{.cpp}
///   Graph g({.mode = ExecMode::kRecord});          // or an eager graph whose Backward ran with
///   Expr x = g.Input(...), loss = Model(g, x);     // BackwardOptions{.reuse_buffers = false}
///   TG_RETURN_IF_ERROR(Backward(loss));
///   TG_ASSIGN_OR_RETURN(CompiledGraph step, Compile(g, {.feeds = {x}, .outputs = {loss}}));
///   for (...) { TG_RETURN_IF_ERROR(step.Run({batch})); step.output(0); optimizer.Step(); ... }
/// \endcode
///
/// The program itself is immutable; what a run changes lives in a RunContext
/// (graph/compile/executable.h). A CompiledGraph owns one, used by Run(feeds); NewContext
/// makes more, and Run(context, feeds) may run one program in several contexts at once.
///
/// Ops that draw random numbers (OpDef::seed_attr, e.g. dropout) draw new ones on every Run
/// after the first (which repeats the recording), their gradients drawing the same.
/// Parameters are read, and their gradients accumulated, in place, exactly as in eager mode
/// (so ZeroGrad between runs as usual) -- or, with CompileSpec::private_gradients, into the
/// context's own memory. The graph may be cleared or dropped after Compile.
/// The graph's ExecOptions carry over: threads, and check_numerics (Run then fails at the
/// first NaN or Inf, naming the op and node; pointwise ops are not fused then).
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "graph/compile/executable.h"
#include "graph/graph.h"

namespace tg {

/// What to compile: the feeds, the outputs and the optional passes.
struct CompileSpec {
  std::vector<Expr> feeds;    ///< Input leaves whose values each Run() replaces, in order.
  std::vector<Expr> outputs;  ///< Values read after Run() through output(i).
  bool stack_rows = true;     ///< Time batching; off only to compare against.
  bool fuse_pointwise = true;  ///< Runs of pointwise ops as one chunked pass; likewise.
  /// A sum into bytes nothing touched yet writes, and a buffer whose every sum lands on
  /// written bytes is not zeroed (graph/compile/first_writes.h); likewise.
  bool write_first_sums = true;
  /// Parameter gradients accumulate into the run's own memory, zeroed at the start of
  /// every Run, not into the store's: replicas of one update can then run at once on slices
  /// of a batch (graph/compile/replicas.h) and their gradients be summed afterwards.
  bool private_gradients = false;
  /// Compile also makes the program's own RunContext, which Run(feeds) uses. Without it,
  /// compiling allocates nothing for runs (only contexts from NewContext run the program): for
  /// a program only shared contexts run, or one measured whose runs would not fit in memory.
  bool own_context = true;
  /// Activation checkpointing (graph/compile/recompute.h): the program keeps only the graph's
  /// checkpoints (Graph::MarkCheckpoint) and what other segments read, and makes each
  /// segment's forward work again during the backward. Time batching is cut at the
  /// checkpoints. The graph must have checkpoints.
  bool recompute = false;
  /// Time batching cut at the checkpoints as with `recompute`, but nothing made again: the
  /// same bits as `recompute` keeping every value, to compare against.
  bool cut_at_checkpoints = false;
  /// With more than one thread (ExecOptions::num_threads), Run starts every step as soon as
  /// the steps it depends on have run, several at once (graph/compile/parallel_replay.h);
  /// off, the steps run one after another, each split over the threads. Both give the same
  /// bits. Off by default: handing steps between threads costs microseconds, more than a
  /// small step's work (docs/compiled_mode.md, "Parallel replay figures").
  bool parallel_replay = false;
  /// Operands an op can read prepared (OpDef::prepare) that no step writes are prepared once
  /// per run and the form shared by the steps that read them (graph/compile/prepare_operands.h);
  /// off only to compare against.
  bool prepare_operands = true;
};

/// A compiled program and one RunContext to run it in (see graph/compile/compiled_graph.h);
/// made by Compile, movable. A default-constructed one holds no program.
class CompiledGraph {
 public:
  /// Runs the program in the graph's own context: copies feeds[i] (same dtype and shape as
  /// spec.feeds[i]) in and runs every step; a kernel's error names the op and node. Feeds
  /// that do not match (CheckFeeds) are refused before anything runs.
  absl::Status Run(absl::Span<const Tensor> feeds);
  /// Runs the program in `context` (made by NewContext of this program), which holds what
  /// the run changes: several contexts may run at once.
  absl::Status Run(RunContext& context, absl::Span<const Tensor> feeds) const;
  /// A new context for this program (its own memory, private gradients and seed position 0).
  absl::StatusOr<RunContext> NewContext() const;
  /// InvalidArgument unless there is one feed per CompileSpec::feeds entry, each with that
  /// entry's dtype and shape and with data; the message names the feed, both types and its
  /// node.
  absl::Status CheckFeeds(absl::Span<const Tensor> feeds) const;
  /// spec.outputs[i] after the last Run(feeds) (valid until the next one); an empty tensor
  /// without an own context (CompileSpec::own_context).
  const Tensor& output(int i) const;
  /// Number of outputs (CompileSpec::outputs).
  int num_outputs() const { return program_ ? static_cast<int>(program_->outputs.size()) : 0; }
  /// Number of feeds Run takes (CompileSpec::feeds).
  int num_feeds() const { return program_ ? static_cast<int>(program_->feeds.size()) : 0; }

  /// How many times Run(feeds) has run: the position of the own context's random streams
  /// (RunContext::seed_position).
  uint64_t run_count() const { return context_ ? context_->seed_position() : 0; }
  /// Makes the next Run(feeds) draw what run number `runs` draws, e.g. to continue the random
  /// streams of a program saved after `runs` runs in a checkpoint (the same recording, thus
  /// the same recorded seeds, assumed).
  void set_run_count(uint64_t runs) {
    if (context_) context_->set_seed_position(runs);
  }

  /// Kernel launches per Run (a fused run counts one; zeroings do not count).
  int num_kernels() const { return num_kernels_; }
  /// Nodes folded into stacked steps.
  int num_stacked_nodes() const { return num_stacked_; }
  /// Fused pointwise runs.
  int num_fused_runs() const { return num_fused_runs_; }
  /// Tile calls the fused runs make per Run (graph/compile/fuse_pointwise.h TileCalls): at
  /// small sizes each costs about as much as its arithmetic.
  int64_t num_tile_calls() const { return num_tile_calls_; }
  /// Operands prepared once per run (CompileSpec::prepare_operands): the steps that prepare
  /// them, listed as "prepare_<op>".
  int num_prepared() const { return num_prepared_; }
  /// Sums into bytes nothing touched yet that write instead (CompileSpec::write_first_sums).
  int num_first_writes() const { return num_first_writes_; }
  /// Segments the checkpoints cut the forward into (with recompute or cut_at_checkpoints).
  int num_segments() const { return num_segments_; }
  /// Instructions added to make segments again during the backward (CompileSpec::recompute),
  /// before pruning drops those whose values the backward does not read.
  int num_recomputed() const { return num_recomputed_; }
  /// Bytes of the memory the plan needs (each context allocates it once).
  size_t peak_bytes() const {
    return program_ ? static_cast<size_t>(program_->arena_bytes) : 0;
  }
  /// Seconds Compile took.
  double compile_seconds() const { return compile_seconds_; }
  /// What the passes whose cost could grow faster than the program did, counted: byte ranges
  /// visited and dependencies looked at (pruning, time batching), candidates checked and
  /// intervals tied (time batching), free-list operations (memory placement). It grows
  /// linearly with the unrolled length; tests compare it across lengths, wall time being
  /// noisy.
  int64_t compile_work() const { return compile_work_; }
  /// Seconds each pass of Compile took, in order ("from_graph", "recompute", "prune",
  /// "stack_rows", "prepare_operands", "lifetimes", "fuse_pointwise", "place_memory", "lower",
  /// "schedule", "context").
  const std::vector<std::pair<std::string, double>>& pass_seconds() const {
    return pass_seconds_;
  }
  /// Kernel launches per Run by op name, most first (a fused run's members count under
  /// their own ops; zeroings do not count; a step preparing an operand counts as
  /// "prepare_<op>").
  std::vector<std::pair<std::string, int>> KernelsByOp() const;
  /// One line per step: "12 matmul x6 [18,5] step/matmul" (x6: six nodes stacked; "fused 9":
  /// nine pointwise ops run as one chunked pass; "prepare_matmul": an operand prepared once
  /// per run, "(prepared)" after the shape of each step reading it), then a summary: kernels,
  /// fused runs, stacked nodes, peak bytes and compile seconds, the ops by count, and the
  /// prepared operands when there are any.
  std::string Listing() const;
  /// With CompileSpec::private_gradients, one entry per parameter in the graph, in node order,
  /// in the own context; otherwise empty (the gradients are in the store).
  const std::vector<PrivateGradient>& private_gradients() const;
  /// The lowered program.
  const compile::Executable& program() const { return *program_; }

 private:
  friend absl::StatusOr<CompiledGraph> Compile(Graph& graph, const CompileSpec& spec);

  std::shared_ptr<const compile::Executable> program_;
  std::unique_ptr<RunContext> context_;
  int num_kernels_ = 0;
  int num_stacked_ = 0;
  int num_fused_runs_ = 0;
  int64_t num_tile_calls_ = 0;
  int num_prepared_ = 0;
  int num_first_writes_ = 0;
  int num_segments_ = 0;
  int num_recomputed_ = 0;
  int64_t compile_work_ = 0;
  double compile_seconds_ = 0;
  std::vector<std::pair<std::string, double>> pass_seconds_;
};

/// Compiles `graph` (recorded, or eager with its backward appended) into a program that
/// replays it on new feeds. Fails with the graph's error if it has one; FailedPrecondition
/// if Backward reused gradient buffers on it; InvalidArgument naming a feed that is not an
/// input made by Graph::Input, or a feed or output of another graph or generation.
absl::StatusOr<CompiledGraph> Compile(Graph& graph, const CompileSpec& spec);

}  // namespace tg
