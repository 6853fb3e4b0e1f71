#include "models/weight_overrides.h"

#include "fmt/format.h"

namespace tg {

Expr WeightOverrides::Read(Graph& g, const Parameter& p) const {
  auto it = values_.find(p.data());
  if (it == values_.end()) return g.Param(p);
  const Expr value = it->second;
  if (value.graph() != &g || !g.Lookup(value).ok()) {
    g.RecordError(absl::InvalidArgumentError(fmt::format(
        "the value given for parameter '{}' does not belong to this graph (or is stale after "
        "Graph::Clear())",
        p.name())));
    return value;
  }
  if (!(value.shape() == p.shape()) || value.dtype() != p.dtype()) {
    g.RecordError(absl::InvalidArgumentError(
        fmt::format("the value given for parameter '{}' is {} {}, but the parameter is {} {}",
                    p.name(), value.dtype(), value.shape(), p.dtype(), p.shape())));
  }
  return value;
}

}  // namespace tg
