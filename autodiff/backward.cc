#include "autodiff/backward.h"

#include <cstddef>
#include <optional>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "fmt/format.h"
#include "graph/graph.h"
#include "base/status_macros.h"
#include "graph/vjp_context.h"
#include "ops/ops.h"

namespace tg {
namespace {

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

class BackwardPass final : public GradSink {
 public:
  // In record mode nothing runs, so a buffer's last reader is not known yet: the compiler
  // plans memory instead, and every gradient gets memory of its own here.
  BackwardPass(Graph& g, BackwardOptions options)
      : g_(g),
        options_(options),
        recycle_(!options.create_graph && options.reuse_buffers &&
                 g.mode() != ExecMode::kRecord) {}

  // Differentiates `loss` with respect to `wrt` (node ids), or to every parameter when
  // `sink_params` is set (their gradients then land in the store).
  absl::Status Run(Expr loss, absl::Span<const Expr> wrt, bool sink_params) {
    TG_RETURN_IF_ERROR(g_.status());
    if (g_.mode() == ExecMode::kInference) {
      return absl::FailedPreconditionError(
          "Backward: the graph is in inference mode and recorded nothing for backward");
    }
    TG_ASSIGN_OR_RETURN(const Node* loss_node, g_.Lookup(loss));
    if (loss_node->type.shape.num_elements() != 1) {
      return absl::InvalidArgumentError(fmt::format(
          "Backward: the loss must have one element, got {} {}", loss_node->type.shape,
          g_.NodeLabel(loss.id())));
    }
    end_ = loss.id() + 1;
    wrt_ = wrt;
    slots_.assign(end_, GradSlot{});
    MarkReach(loss.id(), wrt, sink_params);
    if (!reach_[loss.id()]) return absl::OkStatus();  // nothing upstream wants a gradient

    if (sink_params && !options_.create_graph) {
      for (NodeId v = 0; v < end_; ++v) {
        const Node& n = g_.node(v);
        if (reach_[v] && n.param != nullptr) {
          Own(v, n.param->grad(), /*writer=*/-1);
        }
      }
    }
    slots_[loss.id()].state = GradSlot::State::kBorrowed;
    slots_[loss.id()].expr = g_.Fill(loss_node->type.shape, 1.0, loss_node->type.dtype);

    Graph::DeferredGuard deferred(&g_);
    for (NodeId v = loss.id(); v >= 0; --v) {
      if (!reach_[v] || slots_[v].state == GradSlot::State::kEmpty) continue;
      // Copies, not a Node reference: Read() and the rule add nodes, which may move them.
      const OpDef* op = g_.node(v).op;
      const int32_t node_scope = g_.node(v).scope;
      if (op->is_leaf || op->vjp == nullptr) continue;
      if (slots_[v].root >= 0 && slots_[v].root != v) continue;  // a view: already in its base
      pending_start_ = g_.num_nodes();
      // Gradient nodes are named after what they differentiate: "step_3/lstm/mul_backward/mul".
      auto scope = g_.EnterScope(g_.ChildScope(node_scope, BackwardScopeName(*op)));
      records_.reserve(g_.node(v).inputs.size());  // one allocation at most (a T-way concat)
      VjpContext ctx(g_, v, Read(v), *this);
      op->vjp(ctx);
      Flush();
      if (recycle_) AssignBuffers();
      TG_RETURN_IF_ERROR(g_.RunPending());
      if (recycle_) ReleaseDead(v);
    }
    if (sink_params && options_.create_graph) SinkParamsByValue();
    return g_.RunPending();
  }

  // The gradient of node v as an Expr (zeros if nothing reached it).
  Expr Read(NodeId v) {
    GradSlot& s = slots_[v];
    if (s.state == GradSlot::State::kEmpty) {
      const Node& n = g_.node(v);
      return g_.Fill(n.type.shape, 0.0, n.type.dtype);
    }
    if (!s.expr.valid()) s.expr = g_.AliasLeaf(s.buffer);
    return s.expr;
  }

  // The gradient of x handed to the caller. Without create_graph it is a leaf over the
  // gradient's memory: the nodes that computed it may have had their inputs recycled, so they
  // must not be differentiated again (as in PyTorch, such a gradient does not require grad).
  Expr Result(NodeId x) {
    Expr e = Read(x);
    const Node& n = g_.node(e.id());
    if (options_.create_graph || n.op->is_leaf || n.poisoned || !n.ran) return e;
    const Tensor value = n.value;  // a copy: AliasLeaf adds a node
    return g_.AliasLeaf(value);
  }

  bool Wants(NodeId id) const override { return id < end_ && reach_[id]; }

  // GradSink: called by VJP rules. Recorded, and resolved in Flush once the rule returns,
  // because only then is it known which new nodes other new nodes consume.
  void Accumulate(NodeId node, int input, Expr grad) override {
    NodeId x = g_.node(node).inputs[input];
    if (x >= end_ || !reach_[x]) return;
    absl::StatusOr<const Node*> gn = g_.Lookup(grad);
    const Node& xn = g_.node(x);
    if (!gn.ok() || !((*gn)->type.shape == xn.type.shape) ||
        (*gn)->type.dtype != xn.type.dtype) {
      if (gn.ok() && (*gn)->poisoned) return;  // its error is already on the graph
      g_.RecordError(absl::InternalError(fmt::format(
          "Backward: the VJP of '{}' gave input {} a gradient of {} {}, but the input is {} {} "
          "{}",
          g_.node(node).op->name, input, gn.ok() ? (*gn)->type.shape : Shape{},
          gn.ok() ? (*gn)->type.dtype : DType::kF32, xn.type.shape, xn.type.dtype,
          g_.NodeLabel(node))));
      return;
    }
    records_.push_back({x, grad});
  }

 private:
  struct Record {
    NodeId target;
    Expr grad;
  };

  // The needs-grad mask: a node needs a gradient if the loss depends on it through
  // differentiable inputs and it depends on a target (a wanted Expr or a parameter).
  void MarkReach(NodeId loss, absl::Span<const Expr> wrt, bool sink_params) {
    std::vector<bool> from_target(end_, false);
    for (const Expr& x : wrt) {
      if (x.id() < end_) from_target[x.id()] = true;
    }
    for (NodeId v = 0; v < end_; ++v) {
      const Node& n = g_.node(v);
      if (!n.requires_grad) continue;
      if (sink_params && n.param != nullptr) from_target[v] = true;
      for (size_t i = 0; i < n.inputs.size() && !from_target[v]; ++i) {
        from_target[v] = from_target[n.inputs[i]] && n.op->Differentiable(static_cast<int>(i));
      }
    }
    reach_.assign(end_, false);
    reach_[loss] = g_.node(loss).requires_grad && from_target[loss];
    for (NodeId v = loss; v >= 0; --v) {
      if (!reach_[v]) continue;
      const Node& n = g_.node(v);
      for (size_t i = 0; i < n.inputs.size(); ++i) {
        NodeId in = n.inputs[i];
        if (from_target[in] && g_.node(in).requires_grad &&
            n.op->Differentiable(static_cast<int>(i))) {
          reach_[in] = true;
        }
      }
    }
  }

  // Makes `buffer` the owned gradient memory of slot v.
  void Own(NodeId v, const Tensor& buffer, NodeId writer) {
    GradSlot& s = slots_[v];
    s.state = GradSlot::State::kOwned;
    s.buffer = buffer;
    s.root = v;
    s.writer = writer;
  }

  Tensor Allocate(NodeId v) { return NewBuffer(g_.node(v).type); }

  // Makes slot v own a buffer that further contributions can add into.
  void EnsureOwned(NodeId v) {
    GradSlot& s = slots_[v];
    if (s.state == GradSlot::State::kOwned) return;
    Tensor buffer = Allocate(v);
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

  // The base slot whose buffer a view node's gradient can live in, if any.
  std::optional<NodeId> ViewBase(NodeId v) {
    const Node& n = g_.node(v);
    if (n.op->view == nullptr || n.inputs.empty() || !n.op->Differentiable(0)) return {};
    NodeId base = n.inputs[0];
    if (!reach_[base]) return {};
    std::optional<int64_t> offset = ViewOffset(v);
    if (!offset.has_value()) return {};
    view_offset_ = *offset;
    return base;
  }

  // Prepares an empty slot before its first contribution: a view's gradient is a view of
  // its base's gradient (so splitting [T,B,I] into T steps costs O(T) in backward).
  void PrepareSlot(NodeId v) {
    if (slots_[v].state != GradSlot::State::kEmpty) return;
    std::optional<NodeId> base = ViewBase(v);
    if (!base.has_value()) return;
    int64_t offset = view_offset_;
    PrepareSlot(*base);
    EnsureOwned(*base);
    GradSlot& b = slots_[*base];
    GradSlot& s = slots_[v];
    s.state = GradSlot::State::kOwned;
    s.buffer = b.buffer.View(offset, g_.node(v).type.shape);
    s.root = b.root;
  }

  // Adds the pending node `adder` into the owned slot v, keeping the one writing node (if
  // any) the first to run: the pending nodes run in id order.
  void AddInto(NodeId v, NodeId adder) {
    GradSlot& s = slots_[v];
    GradSlot& root = slots_[s.root];
    Node& an = g_.mutable_node(adder);
    an.value = s.buffer;
    an.accumulate = true;
    if (root.writer < pending_start_ || adder > root.writer) return;
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

  void Flush() {
    std::swap(flushing_, records_);  // both keep their capacity across flushes
    records_.clear();
    const std::vector<Record>& records = flushing_;
    if (options_.create_graph) {
      for (const Record& r : records) {
        GradSlot& s = slots_[r.target];
        s.expr = s.state == GradSlot::State::kEmpty ? r.grad : Add(s.expr, r.grad);
        s.state = GradSlot::State::kBorrowed;
      }
      return;
    }
    // A new node may take over a gradient buffer only if nothing else reads its value.
    // (Only new nodes can be taken over, so only their uses are counted.)
    uses_.assign(g_.num_nodes() - pending_start_, 0);
    auto count_use = [&](NodeId id) {
      if (id >= pending_start_) ++uses_[id - pending_start_];
    };
    for (NodeId id = pending_start_; id < g_.num_nodes(); ++id) {
      for (NodeId in : g_.node(id).inputs) count_use(in);
    }
    for (const Record& r : records) count_use(r.grad.id());
    auto retargetable = [&](NodeId id) {
      if (id < pending_start_) return false;
      const Node& n = g_.node(id);
      return !n.ran && !n.poisoned && !n.op->is_leaf && n.op->view == nullptr &&
             !n.value.has_data() && uses_[id - pending_start_] == 1;
    };
    for (const Record& r : records) {
      NodeId x = r.target, gid = r.grad.id();
      PrepareSlot(x);
      GradSlot& s = slots_[x];
      switch (s.state) {
        case GradSlot::State::kEmpty:
          if (retargetable(gid)) {
            Tensor buffer = Allocate(x);
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
  Tensor NewBuffer(const TensorType& t) {
    const size_t bytes = SizeOf(t.dtype) * static_cast<size_t>(t.shape.num_elements());
    void* p = recycle_ ? g_.arena().AllocateBlock(bytes).data : g_.arena().Allocate(bytes);
    return Tensor(p, t.dtype, t.shape);
  }

  // The element offset in input 0 if node v's output is a view of it (the executor then
  // allocates nothing for it).
  std::optional<int64_t> ViewOffset(NodeId v) const {
    const Node& n = g_.node(v);
    if (n.op->view == nullptr || n.inputs.empty()) return {};
    absl::InlinedVector<TensorType, 3> types;
    for (NodeId in : n.inputs) types.push_back(g_.node(in).type);
    return n.op->view(n.attrs, types);
  }

  // Gives every new node that would allocate its output a buffer from NewBuffer, so that
  // what the executor would allocate reuses dead blocks too.
  void AssignBuffers() {
    for (NodeId id = pending_start_; id < g_.num_nodes(); ++id) {
      const Node& n = g_.node(id);
      if (n.ran || n.poisoned || n.op->is_leaf || n.value.has_data() || ViewOffset(id)) continue;
      Tensor buffer = NewBuffer(n.type);
      g_.mutable_node(id).value = buffer;
    }
  }

  // Makes slot x keep the block its gradient lies in, and no other. The block it let go of
  // is only noted: it may be the one another slot is about to keep.
  void Keep(NodeId x) {
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

  void RecycleIfDead(const void* p) {
    Arena::Block* b = g_.arena().FindBlock(p);
    if (b != nullptr && b->refs == 0 && !b->free) g_.arena().Recycle(*b);
  }

  // Gradients handed back to the caller (and the base buffers they are views of) outlive
  // the pass.
  bool Returned(NodeId v) const {
    for (const Expr& x : wrt_) {
      if (x.id() == v || (x.id() < end_ && slots_[x.id()].root == v)) return true;
    }
    return false;
  }

  // Step v's nodes have all run. The slots it fed keep what they now hold (a view's memory
  // is kept by its base's slot); v's own gradient has been read for the last time (every
  // consumer of v came later on the tape, so was walked earlier); blocks nothing keeps, the
  // step's intermediates included, go back to the arena.
  void ReleaseDead(NodeId v) {
    auto keeper = [&](NodeId x) { return slots_[x].root >= 0 ? slots_[x].root : x; };
    for (const Record& r : flushing_) Keep(keeper(r.target));
    for (const Record& r : flushing_) {
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
    for (NodeId id = pending_start_; id < g_.num_nodes(); ++id) {
      RecycleIfDead(g_.node(id).value.raw());
    }
  }

  // With create_graph, parameter gradients are Exprs: add their values into the store.
  void SinkParamsByValue() {
    for (NodeId v = 0; v < end_; ++v) {
      ParamData* param = g_.node(v).param;
      if (!reach_[v] || param == nullptr || slots_[v].state == GradSlot::State::kEmpty) {
        continue;
      }
      Node& cn = g_.mutable_node(Copy(slots_[v].expr).id());
      cn.value = param->grad();
      cn.accumulate = true;
    }
  }

  Graph& g_;
  BackwardOptions options_;
  bool recycle_;
  absl::Span<const Expr> wrt_;
  NodeId end_ = 0;
  NodeId pending_start_ = 0;
  int64_t view_offset_ = 0;
  std::vector<bool> reach_;
  std::vector<GradSlot> slots_;
  std::vector<Record> records_;
  std::vector<Record> flushing_;  // the batch being resolved by Flush
  std::vector<int32_t> uses_;
  absl::flat_hash_map<const OpDef*, std::string> backward_scope_names_;

  // "<op>_backward", made once per op kind.
  std::string_view BackwardScopeName(const OpDef& op) {
    auto [it, inserted] = backward_scope_names_.try_emplace(&op);
    if (inserted) it->second = fmt::format("{}_backward", op.name);
    return it->second;
  }
};

Graph* GraphOf(Expr e) { return e.graph(); }

}  // namespace

absl::Status Backward(Expr loss, BackwardOptions options) {
  Graph* g = GraphOf(loss);
  if (g == nullptr) return absl::InvalidArgumentError("Backward: an empty Expr was given");
  BackwardPass pass(*g, options);
  return pass.Run(loss, {}, /*sink_params=*/true);
}

absl::StatusOr<std::vector<Expr>> Backward(Expr loss, absl::Span<const Expr> wrt,
                                           BackwardOptions options) {
  Graph* g = GraphOf(loss);
  if (g == nullptr) return absl::InvalidArgumentError("Backward: an empty Expr was given");
  for (const Expr& x : wrt) TG_RETURN_IF_ERROR(g->Lookup(x).status());
  BackwardPass pass(*g, options);
  TG_RETURN_IF_ERROR(pass.Run(loss, wrt, /*sink_params=*/false));
  std::vector<Expr> grads;
  for (const Expr& x : wrt) {
    if (x.id() > loss.id()) {
      grads.push_back(g->Fill(x.shape(), 0.0, x.dtype()));
    } else {
      grads.push_back(pass.Result(x.id()));
    }
  }
  TG_RETURN_IF_ERROR(g->RunPending());
  return grads;
}

}  // namespace tg
