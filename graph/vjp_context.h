// VjpContext: what an op's VJP rule sees. The rule builds the input gradients from ops and
// hands each to AccumulateGrad(i, g); Backward decides how it lands (straight into the
// gradient buffer with accumulate set, or as an Add node when a higher-order graph is wanted).
#pragma once

#include "graph/attrs.h"
#include "graph/expr.h"

namespace tg {

class GradSink {
 public:
  virtual ~GradSink() = default;
  virtual void Accumulate(NodeId node, int input, Expr grad) = 0;
  // Whether Backward wants the gradient of node `id` at all (it lies between the loss and
  // what is being differentiated for).
  virtual bool Wants(NodeId id) const = 0;
};

class VjpContext {
 public:
  VjpContext(Graph& graph, NodeId node, Expr grad_output, GradSink& sink);

  Graph& graph() const { return graph_; }
  int num_inputs() const;
  Expr input(int i) const;
  Expr output() const;
  Expr grad_output() const { return grad_output_; }
  const Attrs& attrs() const;
  // Whether input i wants a gradient; rules skip the work for inputs that do not.
  bool needs_grad(int i) const;
  // Adds g (same shape and dtype as input i) to input i's gradient.
  void AccumulateGrad(int i, Expr g) { sink_.Accumulate(node_, i, g); }

 private:
  Graph& graph_;
  NodeId node_;
  Expr grad_output_;
  GradSink& sink_;
};

}  // namespace tg
