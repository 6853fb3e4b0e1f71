#include "graph/view.h"

#include "absl/container/inlined_vector.h"
#include "graph/graph.h"

namespace tg {

std::optional<int64_t> ViewOffset(const Node& n,
                                  absl::FunctionRef<TensorType(size_t i)> input_type) {
  if (n.op->view == nullptr || n.inputs.empty()) return std::nullopt;
  absl::InlinedVector<TensorType, 3> types;
  for (size_t i = 0; i < n.inputs.size(); ++i) types.push_back(input_type(i));
  return n.op->view(n.attrs, types);
}

std::optional<int64_t> ViewOffset(const Graph& g, NodeId id) {
  const Node& n = g.node(id);
  return ViewOffset(n, [&](size_t i) { return g.node(n.inputs[i]).type; });
}

}  // namespace tg
