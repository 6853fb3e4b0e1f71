/// \file
/// The time loop. Unroll applies a cell to T inputs (one scope "step_<t>" per step), with
/// per-example lengths for padded batches and variational recurrent dropout; TruncatedBptt
/// runs a long sequence in chunks whose state is carried as values across Graph::Clear().
#pragma once

#include <cstdint>
#include <functional>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "fmt/format.h"
#include "graph/graph.h"
#include "base/random.h"
#include "models/cell.h"
#include "models/layers.h"
#include "ops/ops.h"

namespace tg {

/// Options of Unroll.
struct UnrollOptions {
  /// Valid steps of each example (one per batch row, any order, each in [0, T]). Steps past an
  /// example's length leave its state unchanged and output zeros, as a packed sequence would.
  /// Empty: every example runs all T steps.
  std::vector<int32_t> lengths = {};
  /// Visit t = T-1 .. 0 (the backward half of a bidirectional layer); outputs stay indexed by
  /// t. With lengths, each example starts from s0 at its own last step, as in PyTorch.
  bool reverse = false;
  /// Variational recurrent dropout (Gal & Ghahramani 2016): one mask [B,H] drawn per call from
  /// *rng multiplies the h entering every step (the carried h is not dropped). Off in
  /// ExecMode::kInference.
  double recurrent_dropout = 0;
  Rng* rng = nullptr;  ///< Required when recurrent_dropout > 0.
  /// k > 0: the carried state (h, and c) after every k-th step and after the last is a
  /// checkpoint (Graph::MarkCheckpoint): a program compiled with CompileSpec::recompute keeps
  /// only those and recomputes the steps between them during backward. k near sqrt(T) keeps
  /// the least.
  int64_t checkpoint_every = 0;
};

/// What Unroll returns.
struct UnrollResult {
  std::vector<Expr> outputs;  ///< T outputs [B,H]: h_t, times the length mask when given.
  State final;                ///< The state after each example's last valid step.
};

/// Checks lengths (count == batch, values in [0, T]), s0.h and the dropout rng.
absl::Status ValidateUnroll(absl::Span<const Expr> xs, const State& s0,
                            const UnrollOptions& options);
/// The [B,1] mask (1 while t < length) of step t and its complement 1 - mask; empty Exprs
/// when every example is still running (no masking ops are then recorded).
std::pair<Expr, Expr> StepMask(Graph& g, absl::Span<const int32_t> lengths, int64_t t, DType dtype);
/// `updated` where mask is 1, `old` where it is 0 (`mask * updated + keep * old`; exact for
/// 0/1 masks); `updated` itself when mask is empty (a c is kept only if both states have one).
State SelectState(Expr mask, Expr keep, const State& updated, const State& old);
/// A [T,B,I] tensor as T steps [B,I] (views); a non-3-D input is an error on its graph.
std::vector<Expr> SplitSteps(Expr xs);
/// T outputs [B,H] stacked into [T*B, H] (time-major rows), for one Linear over all steps.
Expr StackSteps(absl::Span<const Expr> steps);

/// Applies `cell` to xs[0..T) from s0. Errors are recorded on g (Backward returns them): a
/// wrong input width inside the cell names its node ("step_0/lstm/matmul") and poisons what
/// follows; bad options (lengths, a missing rng) leave every output an empty Expr.
template <Cell C>
UnrollResult Unroll(Graph& g, const C& cell, absl::Span<const Expr> xs, State s0,
                    const UnrollOptions& options = {}) {
  const int64_t steps = static_cast<int64_t>(xs.size());
  UnrollResult result{.outputs = std::vector<Expr>(steps), .final = State{}};
  if (absl::Status s = ValidateUnroll(xs, s0, options); !s.ok()) {
    g.RecordError(std::move(s));
    return result;
  }
  const DType dtype = s0.h.dtype();
  Expr drop_mask;
  if (options.recurrent_dropout > 0 && g.mode() != ExecMode::kInference) {
    drop_mask = DropoutMask(g, s0.h.shape(), options.recurrent_dropout, dtype, *options.rng);
  }
  State s = s0;
  for (int64_t k = 0; k < steps; ++k) {
    const int64_t t = options.reverse ? steps - 1 - k : k;
    auto scope = g.Scope(fmt::format("step_{}", t));
    State in = s;
    if (drop_mask.valid()) in.h = s.h * drop_mask;
    State next = cell.Step(g, xs[t], in);
    auto [mask, keep] = StepMask(g, options.lengths, t, dtype);
    result.outputs[t] = mask.valid() ? next.h * mask : next.h;
    s = SelectState(mask, keep, next, s);
    if (options.checkpoint_every > 0 &&
        ((k + 1) % options.checkpoint_every == 0 || k + 1 == steps)) {
      if (s.c.valid()) {
        g.MarkCheckpoint({s.h, s.c});
      } else {
        g.MarkCheckpoint(s.h);
      }
    }
  }
  result.final = s;
  return result;
}

// ---- truncated backpropagation through time ----

/// A State's values copied out of a graph, so that they survive Graph::Clear().
struct HostState {
  Shape shape = {};  ///< The shape of h (and of c).
  DType dtype = DType::kF32;  ///< The dtype the values are fed back in as.
  std::vector<double> h = {};  ///< h's elements.
  std::vector<double> c = {};  ///< c's elements; empty when the cell has no c.
};
/// Copies `s`'s values out; fails if they have not been computed (a graph error).
absl::StatusOr<HostState> CopyOut(const State& s);
/// The values fed back in as g.Input leaves: no gradient crosses into an earlier graph.
State FeedIn(Graph& g, const HostState& s);

/// Which steps one chunk of TruncatedBptt covers.
struct TbpttChunk {
  int index = 0;      ///< 0, 1, ...
  int64_t begin = 0;  ///< First step of the chunk.
  int64_t end = 0;    ///< One past its last step (the last chunk may be shorter).
};

/// What the user's function builds for one chunk.
struct TbpttStep {
  Expr loss;                 ///< One element; Backward(loss) is run on it.
  std::vector<State> state;  ///< Carried to the next chunk (one State per layer, say).
};

/// Builds chunk `chunk`'s loss on a freshly cleared g from `state_in` (the previous chunk's
/// state as inputs; empty for the first chunk unless TbpttOptions::initial_state is set).
using TbpttBuildFn =
    std::function<TbpttStep(Graph& g, const TbpttChunk& chunk, const std::vector<State>& state_in)>;
/// Runs after each chunk's Backward (ClipGradNorm, optimizer.Step(), store.ZeroGrad()).
/// A non-OK status stops the run and is returned.
using TbpttUpdateFn = std::function<absl::Status(const TbpttChunk& chunk, double loss)>;

/// Options of TruncatedBptt.
struct TbpttOptions {
  int64_t num_steps = 0;                      ///< T, the whole sequence.
  int64_t chunk_steps = 0;                    ///< k, steps per chunk (the gradient horizon).
  std::vector<HostState> initial_state = {};  ///< A previous run's final_state, say.
};

/// What TruncatedBptt returns.
struct TbpttResult {
  std::vector<double> losses;          ///< One per chunk.
  std::vector<HostState> final_state;  ///< The last chunk's state, to continue a stream.
};

/// For each chunk of k steps: g.Clear(), feed the carried state, build(), Backward(loss),
/// copy the state out, update(). Gradients stop exactly at chunk boundaries; without a
/// ZeroGrad in update they add up over chunks. The last chunk's graph is left on g.
/// Returns the first graph, Backward or update error.
absl::StatusOr<TbpttResult> TruncatedBptt(Graph& g, const TbpttOptions& options,
                                          const TbpttBuildFn& build,
                                          const TbpttUpdateFn& update = {});

}  // namespace tg
