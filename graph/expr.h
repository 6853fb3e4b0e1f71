// Expr: a trivially copyable handle to one node of a Graph. It carries the graph's
// generation, so an Expr used after Graph::Clear() is reported as an error instead of
// silently naming whatever node now has its id. Arithmetic operators are ops: see ops/ops.h.
#pragma once

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "fmt/format.h"
#include "graph/tensor.h"

namespace tg {

class Graph;
using NodeId = int32_t;

class Expr {
 public:
  Expr() = default;
  Expr(Graph* graph, NodeId id, uint32_t generation)
      : graph_(graph), id_(id), generation_(generation) {}

  Graph* graph() const { return graph_; }
  NodeId id() const { return id_; }
  uint32_t generation() const { return generation_; }
  bool valid() const { return graph_ != nullptr; }

  // Type of the node; an empty shape for a poisoned node or a stale handle. A copy: a
  // reference into the graph would dangle once more nodes are added.
  Shape shape() const;
  DType dtype() const;
  // The computed value, or the error that stops it (poisoned, stale, not yet run).
  absl::StatusOr<Tensor> value() const;
  template <class T>
  absl::StatusOr<std::vector<T>> ToVector() const;
  // First element as double; for reading scalar losses.
  absl::StatusOr<double> Scalar() const;

 private:
  Graph* graph_ = nullptr;
  NodeId id_ = -1;
  uint32_t generation_ = 0;
};

}  // namespace tg

template <>
struct fmt::formatter<tg::Expr> : fmt::formatter<tg::Shape> {
  template <class Ctx>
  auto format(const tg::Expr& e, Ctx& ctx) const {
    return fmt::formatter<tg::Shape>::format(e.shape(), ctx);
  }
};
