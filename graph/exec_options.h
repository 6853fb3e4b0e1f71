/// \file
/// How a graph runs its nodes: the execution mode and the options every executor reads.
/// Kept apart from graph.h so the executor and the compiled program need not include the tape.
#pragma once

namespace tg {

/// When a graph runs the nodes it records.
enum class ExecMode {
  kEager,      ///< Each node runs when added; Backward works.
  kInference,  ///< Each node runs when added; nothing requires a gradient.
  kRecord,     ///< Nodes are recorded, never run here (for the compiler).
};

/// The options every executor reads (eager graphs and compiled programs).
struct ExecOptions {
  /// Intra-op threads (GEMM, large pointwise ops); the one place the count comes from.
  int num_threads = 1;
  /// Fail at the first NaN or Inf a node produces (forward or backward), naming the op, its
  /// node path (which includes the time step: "step_17/lstm/mul") and its input shapes.
  bool check_numerics = false;
};

}  // namespace tg
