#include "graph/executor.h"

#include "graph/graph.h"

namespace tg {

absl::Status Execute(Node& node, absl::Span<const Tensor> inputs, Arena& arena,
                     const ExecOptions& options) {
  const OpDef& op = *node.op;
  if (op.view != nullptr) {
    absl::InlinedVector<TensorType, 3> types;
    for (const Tensor& t : inputs) types.push_back({t.dtype(), t.shape()});
    std::optional<int64_t> offset = op.view(node.attrs, types);
    if (offset.has_value()) {
      node.value = inputs[0].View(*offset, node.type.shape);
      return absl::OkStatus();
    }
  }
  if (!node.value.has_data()) {
    node.value = Tensor(arena.Allocate(SizeOf(node.type.dtype) * node.type.shape.num_elements()),
                        node.type.dtype, node.type.shape);
  }
  if (op.forward == nullptr) {
    return absl::InternalError(fmt::format("op '{}' has no forward kernel", op.name));
  }
  return op.forward(
      KernelContext{inputs, node.value, node.attrs, node.accumulate, options});
}

}  // namespace tg
