// The reverse walk: which nodes want a gradient, and each one's VJP rule run from the loss
// back. Where the gradients live (and when their memory is reused) is GradSlots' business
// (autodiff/grad_slots.cc).
#include "autodiff/backward.h"

#include <optional>
#include <string>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "autodiff/grad_slots_internal.h"
#include "base/status_macros.h"
#include "fmt/format.h"
#include "graph/graph.h"
#include "graph/vjp_context.h"
#include "ops/ops.h"

namespace tg {
namespace {

using internal::GradRecord;
using internal::GradSlots;

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
    g_.MarkBackwardStart();  // where the forward work ends (the compiler's recompute needs it)
    MarkReach(loss.id(), wrt, sink_params);
    slots_.emplace(g_, recycle_, end_, reach_, wrt);
    if (!reach_[loss.id()]) return absl::OkStatus();  // nothing upstream wants a gradient

    if (sink_params && !options_.create_graph) {
      for (NodeId v = 0; v < end_; ++v) {
        const Node& n = g_.node(v);
        if (reach_[v] && n.param != nullptr) slots_->Own(v, n.param->grad());
      }
    }
    slots_->Seed(loss.id(), g_.Fill(loss_node->type.shape, 1.0, loss_node->type.dtype));

    Graph::DeferredGuard deferred(&g_);
    for (NodeId v = loss.id(); v >= 0; --v) {
      if (!reach_[v] || slots_->empty(v)) continue;
      // Copies, not a Node reference: Read() and the rule add nodes, which may move them.
      const OpDef* op = g_.node(v).op;
      const int32_t node_scope = g_.node(v).scope;
      if (op->is_leaf || op->vjp == nullptr) continue;
      if (slots_->InBaseBuffer(v)) continue;
      slots_->BeginStep();
      // Gradient nodes are named after what they differentiate: "step_3/lstm/mul_backward/mul".
      auto scope = g_.EnterScope(g_.ChildScope(node_scope, BackwardScopeName(*op)));
      records_.reserve(g_.node(v).inputs.size());  // one allocation at most (a T-way concat)
      VjpContext ctx(g_, v, slots_->Read(v), *this);
      op->vjp(ctx);
      Flush();
      if (recycle_) slots_->AssignBuffers();
      TG_RETURN_IF_ERROR(g_.RunPending());
      if (recycle_) slots_->ReleaseDead(v, flushing_);
    }
    if (sink_params && options_.create_graph) SinkParamsByValue();
    return g_.RunPending();
  }

  // The gradient of x handed to the caller. Without create_graph it is a leaf over the
  // gradient's memory: the nodes that computed it may have had their inputs recycled, so they
  // must not be differentiated again (as in PyTorch, such a gradient does not require grad).
  Expr Result(NodeId x) {
    Expr e = slots_->Read(x);
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

  // Hands the rule's contributions to the slots: as Add nodes with create_graph, else
  // into the gradient buffers in place. They stay in `flushing_` for ReleaseDead.
  void Flush() {
    std::swap(flushing_, records_);  // both keep their capacity across flushes
    records_.clear();
    if (options_.create_graph) {
      slots_->SumAsExprs(flushing_);
    } else {
      slots_->AddInPlace(flushing_);
    }
  }

  // With create_graph, parameter gradients are Exprs: add their values into the store.
  void SinkParamsByValue() {
    for (NodeId v = 0; v < end_; ++v) {
      ParamData* param = g_.node(v).param;
      if (!reach_[v] || param == nullptr || slots_->empty(v)) continue;
      Node& cn = g_.mutable_node(Copy(slots_->Read(v)).id());
      cn.value = param->grad();
      cn.accumulate = true;
    }
  }

  // "<op>_backward", made once per op kind.
  std::string_view BackwardScopeName(const OpDef& op) {
    auto [it, inserted] = backward_scope_names_.try_emplace(&op);
    if (inserted) it->second = fmt::format("{}_backward", op.name);
    return it->second;
  }

  Graph& g_;
  BackwardOptions options_;
  bool recycle_;
  NodeId end_ = 0;
  std::vector<bool> reach_;
  std::optional<GradSlots> slots_;  // made once reach_ is known
  std::vector<GradRecord> records_;
  std::vector<GradRecord> flushing_;  // the batch being resolved by Flush
  absl::flat_hash_map<const OpDef*, std::string> backward_scope_names_;
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
  for (size_t i = 0; i < wrt.size(); ++i) {
    TG_ASSIGN_OR_RETURN(const Node* n, g->Lookup(wrt[i]));
    // An integer value (token ids, class targets) has no gradient: a zero would hide the
    // mistake of asking for one.
    if (!IsFloat(n->type.dtype)) {
      return absl::InvalidArgumentError(fmt::format(
          "Backward: wrt[{}] is {} {} {}; only f32 and f64 values have gradients", i,
          n->type.dtype, n->type.shape, g->NodeLabel(wrt[i].id())));
    }
  }
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
