/// \file
/// The lowered program and what runs it. An Executable is immutable: its operands are
/// offsets into a run's memory (or fixed addresses of parameters), its attributes the
/// recorded ones. A RunContext holds everything a run changes -- the program's memory with
/// its feeds and outputs, the private gradients, the position of the random streams -- so one
/// program may run in several contexts at once, and a run allocates nothing.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/inlined_vector.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "graph/attrs.h"
#include "graph/compile/program.h"
#include "graph/exec_options.h"
#include "graph/expr.h"
#include "graph/op_def.h"
#include "graph/parameter.h"
#include "graph/tensor.h"

namespace tg {

/// A parameter's gradient from the last run of a program compiled with private gradients.
struct PrivateGradient {
  Parameter param;  ///< The parameter.
  Tensor grad;  ///< Its gradient, in the run's memory.
};

}  // namespace tg

namespace tg::compile {

struct FusedRun;

/// Where an operand's bytes are.
enum class Space : uint8_t {
  kArena,      ///< At an offset into the run's memory (the memory plan's allocation).
  kGradients,  ///< At an offset into the run's private gradients.
  kFixed,      ///< At a fixed address (a parameter, its gradient in the store).
  /// A value that lives only in a fused run's chunk buffer (graph/compile/fusion_plan.h): it
  /// has no memory of its own; the operand's offset is the value's id.
  kScratch,
};

/// A tensor of the lowered program, before a run gives it memory. Small (its shape is an
/// id into Executable::shapes).
struct Operand {
  int64_t offset = 0;  ///< Its first byte in its space; for kFixed, the address itself.
  int64_t bytes = 0;  ///< Its size.
  ShapeId shape = -1;  ///< Its dimensions, in Executable::shapes.
  Space space = Space::kFixed;  ///< Where its bytes are.
  DType dtype = DType::kF32;  ///< Element type.
};

/// The first byte of each space in one run, and the program's shapes.
struct Bases {
  std::byte* arena = nullptr;  ///< Space::kArena.
  std::byte* gradients = nullptr;  ///< Space::kGradients.
  const Shape* shapes = nullptr;  ///< Executable::shapes.
  /// Fused runs' chunk buffers: range r of a run uses scratch + r * scratch_stride.
  std::byte* scratch = nullptr;
  int64_t scratch_stride = 0;  ///< Bytes per range (Executable::scratch_bytes).
  /// Where operand `o` is in this run.
  std::byte* Address(const Operand& o) const {
    switch (o.space) {
      case Space::kArena: return arena + o.offset;
      case Space::kGradients: return gradients + o.offset;
      case Space::kFixed: break;
      case Space::kScratch: return nullptr;  // only a fused run reaches it, by row
    }
    return reinterpret_cast<std::byte*>(static_cast<uintptr_t>(o.offset));
  }
  /// Operand `o` as a tensor of this run.
  Tensor Bind(const Operand& o) const { return Tensor(Address(o), o.dtype, shapes[o.shape]); }
};

/// One step of the lowered program: a kernel call; with `fused` set, the tiles of those
/// pointwise steps run chunk by chunk (graph/compile/fuse_pointwise.h); with neither, a
/// zeroing of `output`'s bytes.
struct Step {
  const OpDef* op = nullptr;  ///< The op whose kernel runs; null for a fused run or a zeroing.
  /// The node's attributes, in Executable::attrs (a run re-seeds its own copy when the op
  /// draws random numbers: OpDef::seed_attr); -1 for a fused run or a zeroing.
  int32_t attrs = -1;
  absl::InlinedVector<Operand, 3> inputs;  ///< Operands.
  Operand output;  ///< Result.
  bool accumulate = false;  ///< output += result.
  NodeId node = -1;  ///< The node it came from (the first one, when stacked).
  int stacked = 1;  ///< How many nodes' work it does.
  /// >= 0: runs the op's OperandPreparation::prepare on its one input, operand `prepares` of
  /// the op, into its output (Instruction::prepares).
  int8_t prepares = -1;
  /// >= 0: the last input is the prepared form of operand `prepared`, passed to the kernel as
  /// KernelContext::prepared (Instruction::prepared).
  int8_t prepared = -1;
  std::vector<Step> fused;  ///< The members of a fused pointwise run, in order.
  /// A fused run's rows, chunks and member operands (graph/compile/fuse_pointwise.h).
  std::shared_ptr<const FusedRun> run;
  /// Whether it zeroes its output (no op, no members).
  bool zeroes() const { return op == nullptr && fused.empty(); }
};

/// Which steps may run at once (graph/compile/schedule.h).
struct Schedule;
/// The state of concurrent runs in one context (graph/compile/parallel_replay.h).
class ParallelReplay;

/// Recorded bytes a run's memory starts with (constants).
struct ConstantBytes {
  int64_t offset = 0;  ///< Where, in Space::kArena.
  std::vector<std::byte> bytes;  ///< What.
};

/// A parameter whose gradient a run keeps in its own memory.
struct GradientHome {
  Parameter param;  ///< The parameter.
  int64_t offset = 0;  ///< Where its gradient is, in Space::kGradients.
};

/// The lowered, immutable program (see graph/compile/executable.h).
struct Executable {
  std::vector<Step> steps;  ///< In execution order.
  std::vector<Shape> shapes;  ///< The operands' shapes, by ShapeId.
  std::vector<Attrs> attrs;  ///< The steps' attributes, each distinct one once.
  /// Operand `o`'s shape.
  const Shape& shape(const Operand& o) const { return shapes[o.shape]; }
  std::vector<std::string> paths;  ///< Per step, the node path (errors and listings).
  std::vector<Operand> feeds;  ///< Where each feed goes.
  std::vector<std::string> feed_labels;  ///< Each feed's node label, for errors.
  std::vector<Operand> outputs;  ///< Where each output is.
  std::vector<ConstantBytes> constants;  ///< Copied into every run's memory once.
  std::vector<GradientHome> private_gradients;  ///< With CompileSpec::private_gradients.
  int64_t arena_bytes = 0;  ///< Size of a run's memory.
  int64_t gradient_bytes = 0;  ///< Size of a run's private gradients (zeroed every run).
  /// Chunk buffer bytes one range of rows of a fused run needs (the largest run's).
  int64_t scratch_bytes = 0;
  ExecOptions options;  ///< Threads, numeric checks.
  /// Which steps may run at once (graph/compile/schedule.h); null when the steps run one
  /// after another (one thread, or CompileSpec::parallel_replay off).
  std::shared_ptr<const Schedule> schedule;

  /// InvalidArgument unless there is one feed per entry of `feeds`, each with that entry's
  /// dtype and shape and with data; the message names the feed, both types and its node.
  absl::Status CheckFeeds(absl::Span<const Tensor> feeds) const;
};

}  // namespace tg::compile

namespace tg {

/// Everything one run of a compiled program changes: its memory (feeds, outputs and every
/// value in between), its private gradients and the position of its random streams. Made for
/// one program; two contexts of one program may run at once on different threads.
class RunContext {
 public:
  /// A context for `program`: its memory allocated (ResourceExhausted naming the size if the
  /// system refuses it) and its constants copied in; seed position 0.
  static absl::StatusOr<RunContext> Create(std::shared_ptr<const compile::Executable> program);
  /// Takes over `other`'s memory and position (for one program; a moved-from context is empty).
  RunContext(RunContext&& other) = default;
  /// Takes over `other`'s memory and position.
  RunContext& operator=(RunContext&& other) = default;

  /// Copies `feeds` in (compile::Executable::CheckFeeds first: nothing runs if they do not
  /// fit) and runs every step -- independent steps at once on the threads when the program
  /// has a schedule (compile::Executable::schedule), with the bits of running them in order;
  /// a kernel's error names the op and node. Allocates nothing.
  absl::Status Run(absl::Span<const Tensor> feeds);

  /// How many runs the random streams have advanced by: run r re-seeds every op that draws
  /// random numbers (OpDef::seed_attr) with ReplaySeed(recorded seed, r).
  uint64_t seed_position() const { return runs_; }
  /// Makes the next run draw what run number `runs` draws (e.g. restored from a checkpoint
  /// of a context of the same recording).
  void set_seed_position(uint64_t runs) { runs_ = runs; }
  /// Output i after the last run (valid until the next one).
  const Tensor& output(int i) const { return outputs_[i]; }
  /// Number of outputs.
  int num_outputs() const { return static_cast<int>(outputs_.size()); }
  /// The private gradients of the last run, one per parameter (empty without them).
  const std::vector<PrivateGradient>& private_gradients() const { return private_gradients_; }
  /// With false, runs the steps one after another in program order even when the program has
  /// a schedule (each step still split over the threads): the same bits as running them at
  /// once, for comparison. True by default.
  void set_parallel(bool parallel) { parallel_ = parallel; }
  /// Whether runs start independent steps at once (when the program has a schedule).
  bool parallel() const { return parallel_; }
  /// With a vector, each step-by-step run (serial program, or set_parallel(false)) writes
  /// step k's wall seconds into (*seconds)[k], resized here to the step count; null: none.
  /// For tools that study a program (bench/compile_bench --simulate).
  void set_step_seconds(std::vector<double>* seconds);
  /// The program this context runs.
  const compile::Executable& program() const { return *program_; }

 private:
  RunContext() = default;
  // Runs step k with scratch_ of `worker` (one per thread of a parallel replay).
  absl::Status RunStep(size_t k, int worker);

  std::shared_ptr<const compile::Executable> program_;
  AlignedBuffer arena_, gradients_, chunks_;  // chunks_: the fused runs' chunk buffers
  compile::Bases bases_;
  std::vector<Tensor> feeds_, outputs_;
  std::vector<PrivateGradient> private_gradients_;
  struct Seeded {
    size_t step;
    int attr;
    uint64_t recorded_seed;
    Attrs attrs;  // the step's attributes with this run's seed
  };
  std::vector<Seeded> seeded_;
  std::vector<int32_t> seeded_of_step_;  // per step: its entry in seeded_, or -1
  std::vector<Tensor> scratch_;  // one kernel's inputs, per worker
  size_t scratch_per_worker_ = 0;
  std::shared_ptr<compile::ParallelReplay> replay_;  // with a schedule
  bool parallel_ = true;
  std::vector<double>* step_seconds_ = nullptr;
  uint64_t runs_ = 0;
};

}  // namespace tg
