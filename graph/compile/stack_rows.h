/// \file
/// Time batching, read from the row facts each OpDef declares (no op is named here):
///
/// - kIndependent: instructions that apply the same op with the same attributes to the same
///   shared operands (a weight), none depending on another, become one instruction over their
///   row operands stacked (x_t W^T for every step t is one [T*B, I] x [I, 4H] product);
/// - kSummed: instructions that add into the same output a sum over rows their operands share
///   (dW += dz_t^T x_t for every t) become one instruction over the stacked operands.
///
/// Passes over large rows stay per step (kLargePassElements) when `chunk` is 0.
///
/// The stacked instruction takes the place of the first member when every member's inputs are
/// ready by then, else of the last. For a group with a shared operand (a weight, which one
/// stacked kernel then reads once), what reads a member's result before the last member (each
/// step's input gradient added into its slice of the whole gradient), and all that depends on
/// it up to there, then moves right after the stacked instruction, unless that would move a
/// member or part of another group. (Without a shared operand the move would only keep every
/// member's result alive longer.) Stacked
/// operands are tied adjacent (graph/compile/buffer_ties.h), so stacking copies nothing; a
/// group whose ties contradict earlier ones is left as it was. Members are stacked in the
/// order their rows already have in memory (the steps of one [T,B,I] tensor, or rows an
/// earlier group tied), else in the order the values of one of their stacked operands were
/// made (ids, never addresses): the first such order the earlier ties allow. So the result
/// depends neither on the allocator nor on the order groups are found in.
#pragma once

#include <cstdint>

#include "graph/compile/program.h"

namespace tg::compile {

/// Elements of a row operand from which a member applying an op that declares tiles
/// (OpDef::pointwise: a pass over its operands, such as a bias add or a bias gradient's sum)
/// is left per step: its step's rows are then still in cache, where the stacked pass would
/// read all steps' rows from memory. At the M sizes (T 50, B 32, H 256) an LSTM's 100 per-step
/// bias-gradient sums over [32,1024] took 0.15 ms of a run against 0.40 ms for the two stacked
/// ones, and the stacked bias add 0.26 ms, which per step joins each step's fused run.
inline constexpr int64_t kLargePassElements = 4096;

/// What StackRows did, and what it cost.
struct StackStats {
  int groups = 0;  ///< Stacked instructions made.
  int stacked_nodes = 0;  ///< Instructions folded into them.
  int64_t work = 0;  ///< Dependencies built, candidates checked, intervals tied.
};

/// `program` with each accepted group's work done by one instruction, and the buffers its
/// ties joined merged into one buffer each (values re-homed at their tied offsets).
/// `program` itself is not changed. `stats`, if given, receives what was done. With
/// `chunk` > 0 (for parallel replay), the members of an independent group that become ready
/// at different times -- layer l+1's input products, each waiting for layer l's step -- are
/// stacked `chunk` at a time in program order, so the first ones need not wait for the last
/// and layer l+1 can run a few steps behind layer l.
Program StackRows(const Program& program, StackStats* stats = nullptr, int chunk = 0);

}  // namespace tg::compile
