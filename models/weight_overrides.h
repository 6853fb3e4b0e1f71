/// \file
/// WeightOverrides: graph values that stand in for parameters, so that a built-in cell or
/// layer runs on weights computed in the graph (torch.func.functional_call's job). MAML's
/// inner step w' = w - a * dL/dw, built with Backward's create_graph, is such a value: a
/// cell made WithWeights(w') carries gradients through w' back to the stored w.
#pragma once

#include <cstdint>

#include "absl/container/flat_hash_map.h"
#include "graph/expr.h"
#include "graph/graph.h"
#include "graph/parameter.h"

namespace tg {

/// A map from parameters to Exprs. Cells and layers hold a copy (cheap: one entry per
/// parameter) and read every parameter through Read. The Exprs belong to one graph, so a
/// view made WithWeights is for that graph only and goes stale with Graph::Clear().
class WeightOverrides {
 public:
  /// Uses `value` for `p` from now on, replacing an earlier value.
  void Set(const Parameter& p, Expr value) { values_[p.data()] = value; }
  /// The value set for `p`, else g.Param(p). A value from another graph, or of another shape
  /// or dtype than p, records InvalidArgument on g naming the parameter and both types.
  Expr Read(Graph& g, const Parameter& p) const;
  /// Whether a value is set for `p`.
  bool contains(const Parameter& p) const { return values_.contains(p.data()); }
  /// The number of parameters with a value set.
  int64_t size() const { return static_cast<int64_t>(values_.size()); }

 private:
  absl::flat_hash_map<const ParamData*, Expr> values_;
};

}  // namespace tg
