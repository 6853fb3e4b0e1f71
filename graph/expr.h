/// \file
/// Expr: a trivially copyable handle to one node of a Graph. It carries the graph's
/// generation, so an Expr used after Graph::Clear() is reported as an error instead of
/// silently naming whatever node now has its id. Arithmetic operators are ops: see ops/ops.h.
#pragma once

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "fmt/format.h"
#include "graph/tensor.h"

namespace tg {

class Graph;
/// A node's index in its graph, in creation order.
using NodeId = int32_t;

/// A handle to one node of a Graph (see graph/expr.h). Prints as its shape (fmt).
class Expr {
 public:
  /// An empty handle: valid() is false and value() is an error.
  Expr() = default;
  /// A handle to node `id` of `graph` at `generation` (Graph::ExprOf makes these).
  Expr(Graph* graph, NodeId id, uint32_t generation)
      : graph_(graph), id_(id), generation_(generation) {}

  /// The graph it belongs to; null for an empty Expr.
  Graph* graph() const { return graph_; }
  /// The node's id in its graph.
  NodeId id() const { return id_; }
  /// The graph's generation when the handle was made; Graph::Clear() starts a new one.
  uint32_t generation() const { return generation_; }
  /// Whether it names a node at all (not whether that node succeeded or is still current).
  bool valid() const { return graph_ != nullptr; }

  /// Shape of the node; an empty shape for a poisoned node or a stale handle. A copy: a
  /// reference into the graph would dangle once more nodes are added.
  Shape shape() const;
  /// The node's element type (f32 for an empty or stale handle).
  DType dtype() const;
  /// The computed value, or the error that stops it (poisoned, stale, not yet run).
  absl::StatusOr<Tensor> value() const;
  /// The value's elements copied out; T (float, double or int32_t) must match the dtype,
  /// else InvalidArgument.
  template <class T>
  absl::StatusOr<std::vector<T>> ToVector() const;
  /// First element as double; for reading scalar losses.
  absl::StatusOr<double> Scalar() const;

 private:
  Graph* graph_ = nullptr;
  NodeId id_ = -1;
  uint32_t generation_ = 0;
};

}  // namespace tg

/// \cond INTERNAL
template <>
struct fmt::formatter<tg::Expr> : fmt::formatter<tg::Shape> {
  template <class Ctx>
  auto format(const tg::Expr& e, Ctx& ctx) const {
    return fmt::formatter<tg::Shape>::format(e.shape(), ctx);
  }
};
/// \endcond
