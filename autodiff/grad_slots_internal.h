// The gradient memory of one Backward pass (not public API; autodiff/backward.cc is its only
// user). The reverse walk hands every contribution a VJP rule makes to GradSlots, which
// decides where it lands: borrowed as the rule's own node, added in place into a buffer the
// slot owns, or (for a view) into a part of its base's buffer; and, when buffers are
// recycled, which arena blocks are dead once a step has run.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "absl/types/span.h"
#include "graph/graph.h"

namespace tg::internal {

// One contribution a VJP rule made: `grad` adds into the gradient of node `target`.
struct GradRecord {
  NodeId target;
  Expr grad;
};

// Where the gradient of one tensor lives while Backward runs.
struct GradSlot {
  enum class State { kEmpty, kBorrowed, kOwned };
  State state = State::kEmpty;
  // A node whose value is the whole gradient once the pending nodes have run; for an owned
  // buffer with no such node, an alias leaf is made when someone reads it.
  Expr expr;
  Tensor buffer;     // kOwned: the buffer contributions add into
  NodeId root = -1;  // kOwned: the slot that owns the memory (itself, or a view's base)
  NodeId writer = -1;  // pending node that writes (not adds) the owned buffer, if any
  std::byte* held = nullptr;      // the arena block this slot keeps alive (see Keep)
  std::byte* released = nullptr;  // the block it let go of in this step, if any
};

// The slots of one Backward pass over nodes [0, end): one per node, all empty at first.
class GradSlots {
 public:
  // `recycle`: dead gradient buffers go back to the arena for later steps to reuse (only
  // when gradients are not differentiable Exprs and the graph runs as it records).
  // `reach[v]` says whether node v wants a gradient; `returned` are the Exprs whose
  // gradients the caller gets back. Both must outlive the slots.
  GradSlots(Graph& g, bool recycle, NodeId end, const std::vector<bool>& reach,
            absl::Span<const Expr> returned);

  // Nothing has reached v's gradient yet.
  bool empty(NodeId v) const { return slots_[v].state == GradSlot::State::kEmpty; }
  // v is a view whose gradient lives inside its base's buffer: every contribution to it
  // already is one to the base, so its own VJP must not run.
  bool InBaseBuffer(NodeId v) const { return slots_[v].root >= 0 && slots_[v].root != v; }

  // Makes `buffer` the memory v's gradient adds into. `writer`: the pending node that writes
  // (not adds) it first; -1 when the buffer already holds the sum so far (a parameter's
  // gradient in the store, or zeros).
  void Own(NodeId v, const Tensor& buffer, NodeId writer = -1);
  // Starts v's gradient as the node `grad` (the loss's seed).
  void Seed(NodeId v, Expr grad);
  // The gradient of v as an Expr (zeros if nothing reached it).
  Expr Read(NodeId v);

  // Marks the start of one VJP step: nodes added from here on are the step's new nodes.
  void BeginStep() { step_start_ = g_.num_nodes(); }
  // Adds each record to its target's gradient as an Add node (create_graph).
  void SumAsExprs(absl::Span<const GradRecord> records);
  // Adds each record into its target's buffer in place: a new node that only feeds the
  // gradient writes (or adds) straight into it; anything else is copied in.
  void AddInPlace(absl::Span<const GradRecord> records);
  // Recycling: gives every new node that would allocate its output a buffer, reusing dead
  // blocks where one of the size is free.
  void AssignBuffers();
  // Recycling: the step that ran v's VJP, whose contributions were `fed`, has run. Frees
  // the blocks nothing can read any more, v's own gradient among them.
  void ReleaseDead(NodeId v, absl::Span<const GradRecord> fed);

 private:
  // A view node's base and its element offset there, when the view's gradient can live in
  // the base's gradient buffer.
  struct ViewPlace {
    NodeId base;
    int64_t offset;
  };

  Tensor NewBuffer(const TensorType& t);
  void EnsureOwned(NodeId v);
  std::optional<ViewPlace> ViewBase(NodeId v) const;
  void PrepareSlot(NodeId v);
  void AddInto(NodeId v, NodeId adder);
  void Keep(NodeId x);
  void RecycleIfDead(const void* p);
  bool Returned(NodeId v) const;

  Graph& g_;
  const bool recycle_;
  const NodeId end_;
  const std::vector<bool>& reach_;
  const absl::Span<const Expr> returned_;
  NodeId step_start_ = 0;
  std::vector<GradSlot> slots_;
  std::vector<int32_t> uses_;  // AddInPlace: readers of each new node
};

}  // namespace tg::internal
