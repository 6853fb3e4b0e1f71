/// \file
/// The compiled static unroll: a recorded graph (forward plus the backward nodes Backward
/// appended) turned into a flat instruction list that Run() replays with new feeds: no graph
/// walk, no allocation, no shape inference. On the way it prunes work no output needs,
/// batches independent per-step work over time (stack_rows.h) and plans memory by lifetime
/// (memory_plan.h). It reads only what each OpDef declares, so a user's cell or op gets the
/// same treatment as a built-in one.
///
/// \code{.cpp}
///   Graph g({.mode = ExecMode::kRecord});          // or an eager graph whose Backward ran with
///   Expr x = g.Input(...), loss = Model(g, x);     // BackwardOptions{.reuse_buffers = false}
///   TG_RETURN_IF_ERROR(Backward(loss));
///   TG_ASSIGN_OR_RETURN(CompiledGraph step, Compile(g, {.feeds = {x}, .outputs = {loss}}));
///   for (...) { TG_RETURN_IF_ERROR(step.Run({batch})); step.output(0); optimizer.Step(); ... }
/// \endcode
///
/// Ops that draw random numbers (OpDef::seed_attr, e.g. dropout) draw new ones on every Run
/// after the first (which repeats the recording), their gradients drawing the same.
/// Parameters are read, and their gradients accumulated, in place, exactly as in eager mode
/// (so ZeroGrad between runs as usual) -- or, with CompileSpec::private_gradients, into the
/// program's own memory. The graph may be cleared or dropped after Compile.
/// The graph's ExecOptions carry over: threads, and check_numerics (Run then fails at the
/// first NaN or Inf, naming the op and node; pointwise ops are not fused then).
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "graph/compile/program.h"
#include "graph/graph.h"

namespace tg {

/// What to compile: the feeds, the outputs and the optional passes.
struct CompileSpec {
  std::vector<Expr> feeds;    ///< Input leaves whose values each Run() replaces, in order.
  std::vector<Expr> outputs;  ///< Values read after Run() through output(i).
  bool stack_rows = true;     ///< Time batching; off only to compare against.
  bool fuse_pointwise = true;  ///< Runs of pointwise ops as one chunked pass; likewise.
  /// Parameter gradients accumulate into the program's own memory, zeroed at the start of
  /// every Run, not into the store's: replicas of one update can then run at once on slices
  /// of a batch (graph/compile/replicas.h) and their gradients be summed afterwards.
  bool private_gradients = false;
};

/// A parameter's gradient from the last Run of a program compiled with private_gradients.
struct PrivateGradient {
  Parameter param;  ///< The parameter.
  Tensor grad;  ///< Its gradient, in the program's memory.
};

/// A compiled program (see graph/compile/compiled_graph.h); made by Compile, movable.
class CompiledGraph {
 public:
  /// Copies feeds[i] (same dtype and shape as spec.feeds[i]) in and runs every instruction;
  /// a kernel's error names the op and node. Feeds that do not match (CheckFeeds) are
  /// refused before anything runs.
  absl::Status Run(absl::Span<const Tensor> feeds);
  /// InvalidArgument unless there is one feed per CompileSpec::feeds entry, each with that
  /// entry's dtype and shape and with data; the message names the feed, both types and its
  /// node.
  absl::Status CheckFeeds(absl::Span<const Tensor> feeds) const;
  /// spec.outputs[i] after the last Run (valid until the next one); 0 <= i < num_outputs().
  const Tensor& output(int i) const { return outputs_[i]; }
  /// Number of outputs (CompileSpec::outputs).
  int num_outputs() const { return static_cast<int>(outputs_.size()); }
  /// Number of feeds Run takes (CompileSpec::feeds).
  int num_feeds() const { return static_cast<int>(feeds_.size()); }

  /// How many times Run has run: run r re-seeds every op that draws random numbers with
  /// ReplaySeed(recorded seed, r), so this is the position of the program's random streams.
  uint64_t run_count() const { return runs_; }
  /// Makes the next Run draw what run number `runs` draws, e.g. to continue the random
  /// streams of a program saved after `runs` runs in a checkpoint (the same recording, thus
  /// the same recorded seeds, assumed).
  void set_run_count(uint64_t runs) { runs_ = runs; }

  /// Kernel launches per Run (a fused run counts one).
  int num_kernels() const { return num_kernels_; }
  /// Nodes folded into stacked instructions.
  int num_stacked_nodes() const { return num_stacked_; }
  /// Bytes of the one allocation the memory plan needs.
  size_t peak_bytes() const { return peak_bytes_; }
  /// One line per instruction: "12 matmul x6 [18,5] step/matmul" (x6: six nodes stacked;
  /// "fused 9": nine pointwise ops run as one chunked pass).
  std::string Listing() const;
  /// With CompileSpec::private_gradients, one entry per parameter in the graph, in node order;
  /// otherwise empty (the gradients are in the store).
  const std::vector<PrivateGradient>& private_gradients() const { return private_gradients_; }

 private:
  friend absl::StatusOr<CompiledGraph> Compile(Graph& graph, const CompileSpec& spec);

  compile::Program program_;
  std::vector<std::string> paths_;  // the node path of each instruction, for errors
  std::vector<Tensor> feeds_, outputs_;
  std::vector<std::string> feed_labels_;  // each feed's node label, for errors
  struct Seeded {
    size_t instruction;
    uint64_t recorded_seed;
  };
  std::vector<Seeded> seeded_;  // instructions whose op draws random numbers
  uint64_t runs_ = 0;
  AlignedBuffer memory_;
  std::vector<PrivateGradient> private_gradients_;
  AlignedBuffer gradient_memory_;  // holds private_gradients_, zeroed by every Run
  size_t gradient_bytes_ = 0;
  ExecOptions options_;
  int num_kernels_ = 0;
  int num_stacked_ = 0;
  size_t peak_bytes_ = 0;
};

/// Compiles `graph` (recorded, or eager with its backward appended) into a program that
/// replays it on new feeds. Fails with the graph's error if it has one; FailedPrecondition
/// if Backward reused gradient buffers on it; InvalidArgument naming a feed that is not an
/// input made by Graph::Input, or a feed or output of another graph or generation.
absl::StatusOr<CompiledGraph> Compile(Graph& graph, const CompileSpec& spec);

}  // namespace tg
