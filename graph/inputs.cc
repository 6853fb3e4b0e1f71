#include "graph/graph.h"

#include <cmath>
#include <cstring>
#include <limits>

#include "fmt/format.h"

// The leaves of a graph: inputs, constants, fills, parameters and the aliases Backward
// hands out. (The rest of Graph is in graph.cc.)
namespace tg {
namespace {

// Leaves are structural, not math: their values come from the host, a parameter or Backward.
absl::StatusOr<TensorType> LeafInfer(absl::Span<const TensorType>, const Attrs&) {
  return absl::InternalError("leaves are not inferred");
}
const OpDef kInputLeaf = {.name = "input", .arity = 0, .infer = LeafInfer, .is_leaf = true};
const OpDef kConstantLeaf = {.name = "constant", .arity = 0, .infer = LeafInfer, .is_leaf = true};
const OpDef kParamLeaf = {.name = "parameter", .arity = 0, .infer = LeafInfer, .is_leaf = true};
const OpDef kAliasLeaf = {.name = "alias", .arity = 0, .infer = LeafInfer, .is_leaf = true};

// A tensor to copy in: a valid type, and data (not default-constructed or a view of nothing).
absl::Status CheckHasData(const Tensor& value) {
  if (absl::Status s = ValidateTensorType(value.shape(), value.dtype()); !s.ok()) return s;
  if (value.has_data()) return absl::OkStatus();
  return absl::InvalidArgumentError(
      fmt::format("the tensor {} {} has no data", value.shape(), value.dtype()));
}

}  // namespace

Expr Graph::FailedLeaf(const OpDef& op, TensorType type, const absl::Status& status) {
  NodeId id = num_nodes();
  Node& n = AppendNode();
  n.op = &op;
  n.type = std::move(type);
  n.scope = scope_stack_.back();
  if (first_pending_ == id) ++first_pending_;
  Fail(id, absl::Status(status.code(),
                        fmt::format("{}: {} {}", op.name, status.message(), NodeLabel(id))));
  return ExprOf(id);
}

Expr Graph::AddLeaf(const OpDef& op, DType dtype, Shape shape, const void* data, size_t count,
                    bool requires_grad) {
  if (absl::Status s = ValidateTensorType(shape, dtype); !s.ok()) {
    return FailedLeaf(op, {dtype, shape}, s);
  }
  if (static_cast<int64_t>(count) != shape.num_elements()) {
    return FailedLeaf(op, {dtype, shape},
                      absl::InvalidArgumentError(fmt::format(
                          "{} values given for shape {} ({} elements)", count, shape,
                          shape.num_elements())));
  }
  const size_t bytes = count * SizeOf(dtype);
  void* memory = arena_.Allocate(bytes);
  if (memory == nullptr) {
    return FailedLeaf(op, {dtype, shape},
                      absl::ResourceExhaustedError(fmt::format(
                          "out of memory allocating {} bytes for {} {}", bytes, shape, dtype)));
  }
  NodeId id = num_nodes();
  Node& n = AppendNode();
  n.op = &op;
  n.type = {dtype, std::move(shape)};
  n.scope = scope_stack_.back();
  n.value = Tensor(memory, dtype, n.type.shape);
  if (data != nullptr && bytes > 0) std::memcpy(n.value.raw(), data, bytes);
  n.requires_grad = requires_grad && options_.mode != ExecMode::kInference;
  n.ran = true;
  if (first_pending_ == id) ++first_pending_;
  return ExprOf(id);
}

Expr Graph::Input(Shape shape, absl::Span<const float> values, InputOptions options) {
  return AddLeaf(kInputLeaf, DType::kF32, std::move(shape), values.data(), values.size(),
                 options.requires_grad);
}
Expr Graph::Input(Shape shape, absl::Span<const double> values, InputOptions options) {
  return AddLeaf(kInputLeaf, DType::kF64, std::move(shape), values.data(), values.size(),
                 options.requires_grad);
}
Expr Graph::Input(Shape shape, absl::Span<const int32_t> values) {
  return AddLeaf(kInputLeaf, DType::kI32, std::move(shape), values.data(), values.size(), false);
}
Expr Graph::Input(Shape shape, absl::Span<const int64_t> values) {
  constexpr int64_t kLo = std::numeric_limits<int32_t>::min();
  constexpr int64_t kHi = std::numeric_limits<int32_t>::max();
  for (size_t i = 0; i < values.size(); ++i) {
    if (values[i] < kLo || values[i] > kHi) {
      return FailedLeaf(kInputLeaf, {DType::kI32, shape},
                        absl::InvalidArgumentError(fmt::format(
                            "int64 id {} at position {} does not fit i32 (ids are stored as "
                            "i32, range [{}, {}])",
                            values[i], i, kLo, kHi)));
    }
  }
  Expr e = AddLeaf(kInputLeaf, DType::kI32, std::move(shape), nullptr, values.size(), false);
  const Node& n = nodes_[e.id()];
  if (n.poisoned) return e;
  int32_t* out = n.value.data<int32_t>();
  for (size_t i = 0; i < values.size(); ++i) out[i] = static_cast<int32_t>(values[i]);
  return e;
}
Expr Graph::Input(const Tensor& value, InputOptions options) {
  if (absl::Status s = CheckHasData(value); !s.ok()) {
    return FailedLeaf(kInputLeaf, {value.dtype(), value.shape()}, s);
  }
  return AddLeaf(kInputLeaf, value.dtype(), value.shape(), value.raw(),
                 static_cast<size_t>(value.num_elements()),
                 options.requires_grad && IsFloat(value.dtype()));
}
Expr Graph::Constant(Shape shape, absl::Span<const float> values) {
  return AddLeaf(kConstantLeaf, DType::kF32, std::move(shape), values.data(), values.size(),
                 false);
}
Expr Graph::Constant(Shape shape, absl::Span<const double> values) {
  return AddLeaf(kConstantLeaf, DType::kF64, std::move(shape), values.data(), values.size(),
                 false);
}
Expr Graph::Constant(const Tensor& value) {
  if (absl::Status s = CheckHasData(value); !s.ok()) {
    return FailedLeaf(kConstantLeaf, {value.dtype(), value.shape()}, s);
  }
  return AddLeaf(kConstantLeaf, value.dtype(), value.shape(), value.raw(),
                 static_cast<size_t>(value.num_elements()), false);
}

Expr Graph::Fill(Shape shape, double value, DType dtype) {
  if (dtype == DType::kI32 && !(value == std::trunc(value) &&
                                value >= std::numeric_limits<int32_t>::min() &&
                                value <= std::numeric_limits<int32_t>::max())) {
    return FailedLeaf(kConstantLeaf, {dtype, shape},
                      absl::InvalidArgumentError(fmt::format(
                          "fill value {} is not a whole number in the i32 range", value)));
  }
  // Validated here too: a bad shape's element count means nothing.
  const int64_t count = shape.CheckedNumElements().value_or(0);
  Expr e = AddLeaf(kConstantLeaf, dtype, std::move(shape), nullptr, static_cast<size_t>(count),
                   false);
  if (nodes_[e.id()].poisoned) return e;
  const Tensor& t = nodes_[e.id()].value;
  for (int64_t i = 0; i < count; ++i) {
    switch (dtype) {
      case DType::kF32: t.data<float>()[i] = static_cast<float>(value); break;
      case DType::kF64: t.data<double>()[i] = value; break;
      case DType::kI32: t.data<int32_t>()[i] = static_cast<int32_t>(value); break;
    }
  }
  return e;
}

Expr Graph::Param(Parameter p) {
  if (!p.valid()) {
    NodeId id = num_nodes();
    Node& n = AppendNode();
    n.op = &kParamLeaf;
    n.scope = scope_stack_.back();
    Fail(id, absl::InvalidArgumentError(
                 fmt::format("parameter: an empty Parameter handle was used {}", NodeLabel(id))));
    return ExprOf(id);
  }
  auto it = param_nodes_.find(p.data());
  if (it != param_nodes_.end()) return ExprOf(it->second);
  NodeId id = num_nodes();
  Node& n = AppendNode();
  n.op = &kParamLeaf;
  n.type = {p.dtype(), p.shape()};
  n.scope = scope_stack_.back();
  n.value = p.value();
  n.param = p.data();
  n.requires_grad = !p.frozen() && options_.mode != ExecMode::kInference;
  n.ran = true;
  if (first_pending_ == id) ++first_pending_;
  param_nodes_[p.data()] = id;
  return ExprOf(id);
}

Expr Graph::AliasLeaf(const Tensor& value) {
  NodeId id = num_nodes();
  Node& n = AppendNode();
  n.op = &kAliasLeaf;
  n.type = {value.dtype(), value.shape()};
  n.scope = scope_stack_.back();
  n.value = value;
  n.ran = true;
  if (first_pending_ == id) ++first_pending_;
  return ExprOf(id);
}

bool Graph::IsAliasLeaf(NodeId id) const {
  return ValidNode(id) && nodes_[id].op == &kAliasLeaf;
}

}  // namespace tg
