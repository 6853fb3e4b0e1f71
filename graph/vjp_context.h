/// \file
/// VjpContext: what an op's VJP rule sees. The rule builds the input gradients from ops and
/// hands each to AccumulateGrad(i, g); Backward decides how it lands (straight into the
/// gradient buffer with accumulate set, or as an Add node when a higher-order graph is wanted).
#pragma once

#include "graph/attrs.h"
#include "graph/expr.h"

namespace tg {

/// Where a VJP rule's input gradients go; Backward implements it.
class GradSink {
 public:
  virtual ~GradSink() = default;
  /// Takes `grad`, the gradient contribution for input `input` of node `node`.
  virtual void Accumulate(NodeId node, int input, Expr grad) = 0;
  /// Whether Backward wants the gradient of node `id` at all (it lies between the loss and
  /// what is being differentiated for).
  virtual bool Wants(NodeId id) const = 0;
};

/// What one node's VJP rule sees (see graph/vjp_context.h).
class VjpContext {
 public:
  /// The context for node `node` of `graph`, whose output gradient is `grad_output`.
  VjpContext(Graph& graph, NodeId node, Expr grad_output, GradSink& sink);

  /// The graph the gradient ops are recorded on (the node's own).
  Graph& graph() const { return graph_; }
  /// The node's number of inputs.
  int num_inputs() const;
  /// The node's input i.
  Expr input(int i) const;
  /// The node itself (its forward value).
  Expr output() const;
  /// The gradient of the loss with respect to the node's output.
  Expr grad_output() const { return grad_output_; }
  /// The node's attributes.
  const Attrs& attrs() const;
  /// Whether input i wants a gradient; rules skip the work for inputs that do not.
  bool needs_grad(int i) const;
  /// Adds g (same shape and dtype as input i) to input i's gradient.
  void AccumulateGrad(int i, Expr g) { sink_.Accumulate(node_, i, g); }

 private:
  Graph& graph_;
  NodeId node_;
  Expr grad_output_;
  GradSink& sink_;
};

}  // namespace tg
