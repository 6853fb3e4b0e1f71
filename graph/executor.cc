#include "graph/executor.h"

#include <cmath>

#include "fmt/format.h"
#include "graph/op_def.h"
#include "graph/view.h"

namespace tg {

absl::Status Execute(Node& node, absl::Span<const Tensor> inputs, Arena& arena,
                     const ExecOptions& options) {
  const OpDef& op = *node.op;
  const std::optional<int64_t> offset =
      ViewOffset(node, [&](size_t i) { return TensorType{inputs[i].dtype(), inputs[i].shape()}; });
  if (offset.has_value()) {
    node.value = inputs[0].View(*offset, node.type.shape);
    return absl::OkStatus();
  }
  if (!node.value.has_data()) {
    const size_t bytes = SizeOf(node.type.dtype) * node.type.shape.num_elements();
    void* memory = arena.Allocate(bytes);
    if (memory == nullptr) {
      return absl::ResourceExhaustedError(fmt::format(
          "out of memory allocating {} bytes for the output {} {}", bytes, node.type.shape,
          node.type.dtype));
    }
    node.value = Tensor(memory, node.type.dtype, node.type.shape);
  }
  if (op.forward == nullptr) {
    return absl::InternalError(fmt::format("op '{}' has no forward kernel", op.name));
  }
  return op.forward(
      KernelContext{inputs, node.value, node.attrs, node.accumulate, options});
}

absl::Status CheckFinite(const Tensor& t) {
  auto scan = [&](auto* data) -> absl::Status {
    for (int64_t i = 0; i < t.num_elements(); ++i) {
      if (!std::isfinite(data[i])) {
        return absl::FailedPreconditionError(fmt::format(
            "check_numerics: {} at element {} of the output", std::isnan(data[i]) ? "NaN" : "Inf",
            i));
      }
    }
    return absl::OkStatus();
  };
  switch (t.dtype()) {
    case DType::kF32: return scan(t.data<float>());
    case DType::kF64: return scan(t.data<double>());
    case DType::kI32: return absl::OkStatus();
  }
  return absl::OkStatus();
}

}  // namespace tg
