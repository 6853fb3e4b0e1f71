#include "graph/vjp_context.h"

#include "graph/graph.h"

namespace tg {

VjpContext::VjpContext(Graph& graph, NodeId node, Expr grad_output, GradSink& sink)
    : graph_(graph), node_(node), grad_output_(grad_output), sink_(sink) {}

int VjpContext::num_inputs() const {
  return static_cast<int>(graph_.node(node_).inputs.size());
}
Expr VjpContext::input(int i) const { return graph_.ExprOf(graph_.node(node_).inputs[i]); }
Expr VjpContext::output() const { return graph_.ExprOf(node_); }
const Attrs& VjpContext::attrs() const { return graph_.node(node_).attrs; }
bool VjpContext::needs_grad(int i) const {
  const Node& n = graph_.node(node_);
  return graph_.node(n.inputs[i]).requires_grad && n.op->Differentiable(i) &&
         sink_.Wants(n.inputs[i]);
}

}  // namespace tg
