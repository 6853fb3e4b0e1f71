#include "autodiff/grad_slots_internal.h"

#include <utility>

#include "graph/view.h"
#include "ops/ops.h"

namespace tg::internal {

GradSlots::GradSlots(Graph& g, bool recycle, NodeId end, const std::vector<bool>& reach,
                     absl::Span<const Expr> returned)
    : g_(g), recycle_(recycle), end_(end), reach_(reach), returned_(returned), slots_(end) {}

void GradSlots::Own(NodeId v, const Tensor& buffer, NodeId writer) {
  GradSlot& s = slots_[v];
  s.state = GradSlot::State::kOwned;
  s.buffer = buffer;
  s.root = v;
  s.writer = writer;
}

void GradSlots::Seed(NodeId v, Expr grad) {
  slots_[v].state = GradSlot::State::kBorrowed;
  slots_[v].expr = grad;
}

Expr GradSlots::Read(NodeId v) {
  GradSlot& s = slots_[v];
  if (s.state == GradSlot::State::kEmpty) {
    const Node& n = g_.node(v);
    return g_.Fill(n.type.shape, 0.0, n.type.dtype);
  }
  if (!s.expr.valid()) s.expr = g_.AliasLeaf(s.buffer);
  return s.expr;
}

// Makes slot v own a buffer that further contributions can add into.
void GradSlots::EnsureOwned(NodeId v) {
  GradSlot& s = slots_[v];
  if (s.state == GradSlot::State::kOwned) return;
  Tensor buffer = NewBuffer(g_.node(v).type);
  if (s.state == GradSlot::State::kEmpty) {
    buffer.SetZero();
    Own(v, buffer, -1);
    return;
  }
  Expr copy = Copy(s.expr);  // borrowed: copy it into memory of our own
  Node& cn = g_.mutable_node(copy.id());
  cn.value = buffer;
  Own(v, buffer, copy.id());
  slots_[v].expr = copy;
}

std::optional<GradSlots::ViewPlace> GradSlots::ViewBase(NodeId v) const {
  const Node& n = g_.node(v);
  if (n.inputs.empty() || !n.op->Differentiable(0) || !reach_[n.inputs[0]]) return std::nullopt;
  const std::optional<int64_t> offset = ViewOffset(g_, v);
  if (!offset.has_value()) return std::nullopt;
  return ViewPlace{n.inputs[0], *offset};
}

// Prepares an empty slot before its first contribution: a view's gradient is a view of
// its base's gradient (so splitting [T,B,I] into T steps costs O(T) in backward).
void GradSlots::PrepareSlot(NodeId v) {
  if (slots_[v].state != GradSlot::State::kEmpty) return;
  const std::optional<ViewPlace> place = ViewBase(v);
  if (!place.has_value()) return;
  PrepareSlot(place->base);
  EnsureOwned(place->base);
  GradSlot& b = slots_[place->base];
  GradSlot& s = slots_[v];
  s.state = GradSlot::State::kOwned;
  s.buffer = b.buffer.View(place->offset, g_.node(v).type.shape);
  s.root = b.root;
}

// Adds the pending node `adder` into the owned slot v, keeping the one writing node (if
// any) the first to run: the pending nodes run in id order.
void GradSlots::AddInto(NodeId v, NodeId adder) {
  GradSlot& s = slots_[v];
  GradSlot& root = slots_[s.root];
  Node& an = g_.mutable_node(adder);
  an.value = s.buffer;
  an.accumulate = true;
  if (root.writer < step_start_ || adder > root.writer) return;
  // The adder would run before the buffer's writer. Nothing has touched the buffer yet:
  if (s.buffer.num_elements() == root.buffer.num_elements()) {
    an.accumulate = false;  // it covers the buffer: it writes, the old writer adds
    g_.mutable_node(root.writer).accumulate = true;
    root.writer = adder;
  } else {
    root.buffer.SetZero();  // it covers a part (a view): zero the buffer, everyone adds
    g_.mutable_node(root.writer).accumulate = true;
    root.writer = -1;
  }
}

void GradSlots::SumAsExprs(absl::Span<const GradRecord> records) {
  for (const GradRecord& r : records) {
    GradSlot& s = slots_[r.target];
    s.expr = s.state == GradSlot::State::kEmpty ? r.grad : Add(s.expr, r.grad);
    s.state = GradSlot::State::kBorrowed;
  }
}

void GradSlots::AddInPlace(absl::Span<const GradRecord> records) {
  // A new node may take over a gradient buffer only if nothing else reads its value.
  // (Only new nodes can be taken over, so only their uses are counted.)
  uses_.assign(g_.num_nodes() - step_start_, 0);
  auto count_use = [&](NodeId id) {
    if (id >= step_start_) ++uses_[id - step_start_];
  };
  for (NodeId id = step_start_; id < g_.num_nodes(); ++id) {
    for (NodeId in : g_.node(id).inputs) count_use(in);
  }
  for (const GradRecord& r : records) count_use(r.grad.id());
  auto retargetable = [&](NodeId id) {
    if (id < step_start_) return false;
    const Node& n = g_.node(id);
    return !n.ran && !n.poisoned && !n.op->is_leaf && n.op->view == nullptr &&
           !n.value.has_data() && uses_[id - step_start_] == 1;
  };
  for (const GradRecord& r : records) {
    NodeId x = r.target, gid = r.grad.id();
    PrepareSlot(x);
    GradSlot& s = slots_[x];
    switch (s.state) {
      case GradSlot::State::kEmpty:
        if (retargetable(gid)) {
          Tensor buffer = NewBuffer(g_.node(x).type);
          g_.mutable_node(gid).value = buffer;
          Own(x, buffer, gid);
        } else {
          s.state = GradSlot::State::kBorrowed;
        }
        s.expr = r.grad;
        break;
      case GradSlot::State::kBorrowed:
        EnsureOwned(x);
        [[fallthrough]];
      case GradSlot::State::kOwned:
        AddInto(x, retargetable(gid) ? gid : Copy(r.grad).id());
        break;
    }
  }
}

// ---- Recycling gradient memory (not with create_graph) ----
// Every buffer this pass's nodes need is an arena block (a recycled one of the same size
// when one is free). A block stays alive while a slot keeps it: an owned slot its buffer, a
// borrowed slot the block its expr's value lies in (views included: blocks are found by
// address). Nothing else can read a block once a step's nodes have run, since later steps
// reach gradients only through Read(slot). Forward values and the store's gradients are
// not blocks, so they are never recycled.
Tensor GradSlots::NewBuffer(const TensorType& t) {
  const size_t bytes = SizeOf(t.dtype) * static_cast<size_t>(t.shape.num_elements());
  void* p = recycle_ ? g_.arena().AllocateBlock(bytes).data : g_.arena().Allocate(bytes);
  return Tensor(p, t.dtype, t.shape);
}

void GradSlots::AssignBuffers() {
  for (NodeId id = step_start_; id < g_.num_nodes(); ++id) {
    const Node& n = g_.node(id);
    if (n.ran || n.poisoned || n.op->is_leaf || n.value.has_data() ||
        ViewOffset(g_, id).has_value()) {
      continue;
    }
    Tensor buffer = NewBuffer(n.type);
    g_.mutable_node(id).value = buffer;
  }
}

// Makes slot x keep the block its gradient lies in, and no other. The block it let go of
// is only noted: it may be the one another slot is about to keep.
void GradSlots::Keep(NodeId x) {
  GradSlot& s = slots_[x];
  const void* p = s.state == GradSlot::State::kOwned      ? s.buffer.raw()
                  : s.state == GradSlot::State::kBorrowed ? g_.node(s.expr.id()).value.raw()
                                                          : nullptr;
  Arena::Block* b = g_.arena().FindBlock(p);
  std::byte* held = b == nullptr ? nullptr : b->data;
  if (held == s.held) return;
  if (b != nullptr) ++b->refs;
  if (s.held != nullptr) --g_.arena().FindBlock(s.held)->refs;
  s.released = s.held;
  s.held = held;
}

void GradSlots::RecycleIfDead(const void* p) {
  Arena::Block* b = g_.arena().FindBlock(p);
  if (b != nullptr && b->refs == 0 && !b->free) g_.arena().Recycle(*b);
}

// Gradients handed back to the caller (and the base buffers they are views of) outlive
// the pass.
bool GradSlots::Returned(NodeId v) const {
  for (const Expr& x : returned_) {
    if (x.id() == v || (x.id() < end_ && slots_[x.id()].root == v)) return true;
  }
  return false;
}

// The slots step v fed keep what they now hold (a view's memory is kept by its base's
// slot); v's own gradient has been read for the last time (every consumer of v came later
// on the tape, so was walked earlier); blocks nothing keeps, the step's intermediates
// included, go back to the arena.
void GradSlots::ReleaseDead(NodeId v, absl::Span<const GradRecord> fed) {
  auto keeper = [&](NodeId x) { return slots_[x].root >= 0 ? slots_[x].root : x; };
  for (const GradRecord& r : fed) Keep(keeper(r.target));
  for (const GradRecord& r : fed) {
    GradSlot& s = slots_[keeper(r.target)];
    RecycleIfDead(s.released);
    s.released = nullptr;
  }
  GradSlot& s = slots_[v];
  if (s.held != nullptr && !Returned(v)) {
    --g_.arena().FindBlock(s.held)->refs;
    RecycleIfDead(s.held);
    s.held = nullptr;
  }
  for (NodeId id = step_start_; id < g_.num_nodes(); ++id) {
    RecycleIfDead(g_.node(id).value.raw());
  }
}

}  // namespace tg::internal
