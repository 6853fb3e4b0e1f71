#include "graph/graph.h"

#include <atomic>
#include <cmath>
#include <cstring>
#include <limits>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "fmt/format.h"
#include "graph/executor.h"

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

std::string DescribeTypes(absl::Span<const TensorType> types) {
  return absl::StrJoin(types, ", ", [](std::string* out, const TensorType& t) {
    out->append(fmt::format("{} {}", t.shape, t.dtype));
  });
}

// A tensor to copy in: a valid type, and data (not default-constructed or a view of nothing).
absl::Status CheckHasData(const Tensor& value) {
  if (absl::Status s = ValidateTensorType(value.shape(), value.dtype()); !s.ok()) return s;
  if (value.has_data()) return absl::OkStatus();
  return absl::InvalidArgumentError(
      fmt::format("the tensor {} {} has no data", value.shape(), value.dtype()));
}

// What AddNode needs of an OpDef to infer its type (RegisterOp checks more). A def without a
// kernel is refused once its type is inferred: one whose infer always fails (a check op)
// never runs.
absl::Status CheckCallable(const OpDef& op) {
  if (op.infer == nullptr) return absl::InvalidArgumentError("the op has no infer function");
  if (op.is_leaf) {
    return absl::InvalidArgumentError(
        "the op is a leaf; leaves come from Graph::Input, Constant, Fill and Param");
  }
  if (op.arity < -1) {
    return absl::InvalidArgumentError(
        fmt::format("the op's arity is {} (a count of inputs, or -1 for one or more)", op.arity));
  }
  return absl::OkStatus();
}

uint32_t NextGeneration() {
  static std::atomic<uint32_t> next{1};
  return next.fetch_add(1, std::memory_order_relaxed);
}

// The graphs alive in the process, so that an error about an Expr of another graph can name
// its node without reading a destroyed graph.
struct LiveGraphs {
  absl::Mutex mu;
  absl::flat_hash_set<const Graph*> graphs ABSL_GUARDED_BY(mu);
};
LiveGraphs& Live() {
  static LiveGraphs* live = new LiveGraphs;
  return *live;
}

// `node #3 "step_0/tanh"` for an Expr of a live graph, else `node #3` and what became of it.
std::string DescribeForeignNode(Expr e) {
  LiveGraphs& live = Live();
  absl::MutexLock lock(&live.mu);
  const Graph* other = e.graph();
  if (!live.graphs.contains(other)) return fmt::format("node #{} (its graph is destroyed)", e.id());
  if (e.generation() != other->generation() || e.id() < 0 || e.id() >= other->num_nodes()) {
    return fmt::format("node #{} (its graph has been cleared since)", e.id());
  }
  return fmt::format("node #{} \"{}\"", e.id(), other->NodePath(e.id()));
}

}  // namespace

Graph::Graph(GraphOptions options) : options_(options), generation_(NextGeneration()) {
  scopes_.push_back({"", {}});
  scope_stack_.push_back(0);
  LiveGraphs& live = Live();
  absl::MutexLock lock(&live.mu);
  live.graphs.insert(this);
}

Graph::~Graph() {
  LiveGraphs& live = Live();
  absl::MutexLock lock(&live.mu);
  live.graphs.erase(this);
}

void Graph::RecordError(absl::Status status) {
  if (status_.ok() && !status.ok()) status_ = std::move(status);
}

std::string Graph::NodePath(NodeId id) const {
  if (!ValidNode(id)) return "?";
  const Node& n = nodes_[id];
  const std::string& scope = scopes_[n.scope].path;
  return scope.empty() ? std::string(n.op->name) : fmt::format("{}/{}", scope, n.op->name);
}

std::string Graph::NodeLabel(NodeId id) const {
  return fmt::format("(node #{} \"{}\")", id, NodePath(id));
}

absl::StatusOr<const Node*> Graph::Lookup(Expr e) const {
  if (e.graph() == nullptr) return absl::InvalidArgumentError("an empty Expr was used");
  if (e.graph() != this) {
    return absl::InvalidArgumentError(
        fmt::format("{} belongs to another graph", DescribeForeignNode(e)));
  }
  if (e.generation() != generation_ || e.id() < 0 || e.id() >= num_nodes()) {
    return absl::FailedPreconditionError(fmt::format(
        "Expr #{} is from before Graph::Clear(); carry values across a Clear() by copying them "
        "out and feeding them in again",
        e.id()));
  }
  return &nodes_[e.id()];
}

int32_t Graph::ChildScope(int32_t parent, std::string_view name) {
  if (!ValidScope(parent)) {
    RecordError(absl::InvalidArgumentError(fmt::format(
        "Graph::ChildScope: scope {} does not exist (the graph has {})", parent, scopes_.size())));
    parent = 0;
  }
  absl::string_view key(name.data(), name.size());
  auto it = scopes_[parent].children.find(key);
  if (it != scopes_[parent].children.end()) return it->second;
  int32_t id = static_cast<int32_t>(scopes_.size());
  const std::string& parent_path = scopes_[parent].path;
  std::string path =
      parent_path.empty() ? std::string(name) : fmt::format("{}/{}", parent_path, name);
  scopes_[parent].children.emplace(std::string(name), id);
  scopes_.push_back({std::move(path), {}});
  return id;
}

Graph::ScopeGuard Graph::EnterScope(int32_t scope) {
  if (!ValidScope(scope)) {
    RecordError(absl::InvalidArgumentError(fmt::format(
        "Graph::EnterScope: scope {} does not exist (the graph has {})", scope, scopes_.size())));
    scope = 0;
  }
  scope_stack_.push_back(scope);
  return ScopeGuard(this);
}

Graph::ScopeGuard Graph::Scope(std::string_view name) {
  return EnterScope(ChildScope(scope_stack_.back(), name));
}

Graph::ScopeGuard Graph::EnterScopeOf(NodeId id) {
  if (!ValidNode(id)) {
    RecordError(absl::InvalidArgumentError(fmt::format(
        "Graph::EnterScopeOf: node #{} is not in the graph ({} nodes)", id, num_nodes())));
    return EnterScope(scope_stack_.back());
  }
  return EnterScope(nodes_[id].scope);
}

Graph::ScopeGuard::~ScopeGuard() {
  if (graph_ != nullptr && graph_->scope_stack_.size() > 1) graph_->scope_stack_.pop_back();
}

Graph::DeferredGuard::DeferredGuard(Graph* g) : graph_(g), previous_(g->deferred_) {
  g->deferred_ = true;
}
Graph::DeferredGuard::~DeferredGuard() { graph_->deferred_ = previous_; }

Node& Graph::AppendNode() { return nodes_.emplace_back(); }

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

void Graph::Fail(NodeId id, const absl::Status& status) {
  nodes_[id].poisoned = true;
  nodes_[id].ran = true;
  RecordError(status);
}

Expr Graph::Poisoned(const OpDef& op, absl::Span<const Expr> inputs, Attrs attrs) {
  NodeId id = num_nodes();
  Node& n = AppendNode();
  n.op = &op;
  n.attrs = std::move(attrs);
  n.scope = scope_stack_.back();
  n.poisoned = true;
  n.ran = true;
  for (const Expr& e : inputs) {
    if (e.graph() == this && e.generation() == generation_) n.inputs.push_back(e.id());
  }
  if (first_pending_ == id) ++first_pending_;
  return ExprOf(id);
}

namespace {

// AddNode's refusals, out of line so that the common path stays small (and GCC keeps
// inlining into it). Each returns the error without the node label, which Refuse appends.
[[gnu::cold, gnu::noinline]] absl::Status OpRefusal(const OpDef& op, const absl::Status& why) {
  return absl::InvalidArgumentError(
      fmt::format("{}: {}", op.name.empty() ? "(unnamed op)" : op.name, why.message()));
}

[[gnu::cold, gnu::noinline]] absl::Status InputRefusal(const Graph& g, const OpDef& op, size_t i,
                                                       Expr input, const absl::Status& why) {
  if (input.graph() != nullptr && input.graph() != &g) {
    return absl::Status(why.code(), fmt::format("{}: argument {} is {} of another graph; build "
                                                "every input of an op on one graph",
                                                op.name, i, DescribeForeignNode(input)));
  }
  return absl::Status(why.code(), fmt::format("{}: argument {}: {}", op.name, i, why.message()));
}

// `op: <prefix><why>; inputs <types>`, with why's code.
[[gnu::cold, gnu::noinline]] absl::Status TypeRefusal(const OpDef& op,
                                                      absl::Span<const TensorType> types,
                                                      const absl::Status& why,
                                                      std::string_view prefix = "") {
  return absl::Status(why.code(), fmt::format("{}: {}{}; inputs {}", op.name, prefix,
                                              why.message(), DescribeTypes(types)));
}

[[gnu::cold, gnu::noinline]] absl::Status ArityRefusal(const OpDef& op, size_t given,
                                                       absl::Span<const TensorType> types) {
  return TypeRefusal(
      op, types,
      absl::InvalidArgumentError(fmt::format(
          "takes {} inputs, got {}", op.arity >= 0 ? std::to_string(op.arity) : "one or more",
          given)));
}

}  // namespace

Expr Graph::Refuse(const OpDef& op, absl::Span<const Expr> inputs, Attrs attrs,
                   const absl::Status& status) {
  Expr e = Poisoned(op, inputs, std::move(attrs));
  RecordError(
      absl::Status(status.code(), fmt::format("{} {}", status.message(), NodeLabel(e.id()))));
  return e;
}

Expr Graph::AddNode(const OpDef& op, absl::Span<const Expr> inputs, Attrs attrs) {
  // Before any input is read, a malformed def is named: its infer may be null.
  if (absl::Status s = CheckCallable(op); !s.ok()) {
    return Refuse(op, inputs, std::move(attrs), OpRefusal(op, s));
  }
  absl::InlinedVector<TensorType, 3> types;
  types.reserve(inputs.size());  // one allocation at most (a T-way concat), never log T
  bool poisoned_input = false;
  for (size_t i = 0; i < inputs.size(); ++i) {
    absl::StatusOr<const Node*> in = Lookup(inputs[i]);
    if (!in.ok()) {
      return Refuse(op, inputs, std::move(attrs),
                    InputRefusal(*this, op, i, inputs[i], in.status()));
    }
    poisoned_input |= (*in)->poisoned;
    types.push_back((*in)->type);
  }
  if (poisoned_input) return Poisoned(op, inputs, std::move(attrs));

  if (op.arity >= 0 ? static_cast<int>(inputs.size()) != op.arity : inputs.empty()) {
    return Refuse(op, inputs, std::move(attrs), ArityRefusal(op, inputs.size(), types));
  }
  if (attrs.shape.requested_rank() > Shape::kMaxRank) {
    const absl::Status why = TypeRefusal(op, types, attrs.shape.Validate(), "shape attribute: ");
    return Refuse(op, inputs, std::move(attrs), why);
  }
  absl::StatusOr<TensorType> type = op.infer(types, attrs);
  if (!type.ok()) {
    return Refuse(op, inputs, std::move(attrs),
                  TypeRefusal(op, types, absl::InvalidArgumentError(type.status().message())));
  }
  if (absl::Status s = ValidateTensorType(type->shape, type->dtype); !s.ok()) {
    return Refuse(op, inputs, std::move(attrs), TypeRefusal(op, types, s, "output: "));
  }
  if (op.forward == nullptr && op.view == nullptr) {
    return Refuse(op, inputs, std::move(attrs),
                  TypeRefusal(op, types, absl::InvalidArgumentError(
                                             "the op has neither a forward kernel nor a view")));
  }

  NodeId id = num_nodes();
  Node& n = nodes_.emplace_back();
  n.op = &op;
  n.attrs = std::move(attrs);
  n.type = *std::move(type);
  n.scope = scope_stack_.back();
  n.inputs.reserve(inputs.size());
  for (size_t i = 0; i < inputs.size(); ++i) {
    n.inputs.push_back(inputs[i].id());
    n.requires_grad |= nodes_[inputs[i].id()].requires_grad && op.Differentiable(static_cast<int>(i));
  }
  if (options_.mode != ExecMode::kRecord && !deferred_) RunPending().IgnoreError();
  return ExprOf(id);
}

absl::Status Graph::RunNode(NodeId id) {
  Node& n = nodes_[id];
  absl::InlinedVector<Tensor, 3> values;
  values.reserve(n.inputs.size());
  for (NodeId in : n.inputs) {
    const Node& src = nodes_[in];
    if (src.poisoned) {
      n.poisoned = true;
      n.ran = true;
      return absl::OkStatus();  // the first error is already recorded
    }
    values.push_back(src.value);
  }
  absl::Status s = Execute(n, values, arena_, options_.exec);
  if (s.ok() && options_.exec.check_numerics) s = CheckFinite(n.value);
  n.ran = true;
  if (!s.ok()) {
    absl::InlinedVector<TensorType, 3> types;
    for (const Tensor& t : values) types.push_back({t.dtype(), t.shape()});
    Fail(id, absl::Status(s.code(), fmt::format("{}: {}; inputs {} {}", n.op->name, s.message(),
                                                DescribeTypes(types), NodeLabel(id))));
    return status_;
  }
  return absl::OkStatus();
}

absl::Status Graph::RunPending() {
  if (options_.mode == ExecMode::kRecord) return status_;
  for (; first_pending_ < num_nodes(); ++first_pending_) {
    if (!nodes_[first_pending_].ran) RunNode(first_pending_).IgnoreError();
  }
  return status_;
}

void Graph::Clear() {
  nodes_.clear();
  param_nodes_.clear();
  arena_.Reset();
  status_ = absl::OkStatus();
  ++generation_;
  first_pending_ = 0;
}

// ---- Expr accessors (they need the Graph's definition) ----

Shape Expr::shape() const {
  if (graph_ == nullptr) return {};
  absl::StatusOr<const Node*> n = graph_->Lookup(*this);
  return n.ok() ? (*n)->type.shape : Shape{};
}

DType Expr::dtype() const {
  if (graph_ == nullptr) return DType::kF32;
  absl::StatusOr<const Node*> n = graph_->Lookup(*this);
  return n.ok() ? (*n)->type.dtype : DType::kF32;
}

absl::StatusOr<Tensor> Expr::value() const {
  if (graph_ == nullptr) return absl::InvalidArgumentError("an empty Expr was used");
  absl::StatusOr<const Node*> n = graph_->Lookup(*this);
  if (!n.ok()) return n.status();
  if ((*n)->poisoned) {
    return graph_->status().ok()
               ? absl::FailedPreconditionError(
                     fmt::format("{} has no value: it failed", graph_->NodeLabel(id_)))
               : graph_->status();
  }
  if (!(*n)->ran) {
    return absl::FailedPreconditionError(
        fmt::format("{} has not run (record mode or a deferred scope)", graph_->NodeLabel(id_)));
  }
  return (*n)->value;
}

template <class T>
absl::StatusOr<std::vector<T>> Expr::ToVector() const {
  absl::StatusOr<Tensor> t = value();
  if (!t.ok()) return t.status();
  if (t->dtype() != DTypeOf<T>()) {
    return absl::InvalidArgumentError(fmt::format("ToVector<{}>: {} holds {}",
                                                  DTypeName(DTypeOf<T>()),
                                                  graph_->NodeLabel(id_), t->dtype()));
  }
  std::span<T> s = t->span<T>();
  return std::vector<T>(s.begin(), s.end());
}
template absl::StatusOr<std::vector<float>> Expr::ToVector<float>() const;
template absl::StatusOr<std::vector<double>> Expr::ToVector<double>() const;
template absl::StatusOr<std::vector<int32_t>> Expr::ToVector<int32_t>() const;

absl::StatusOr<double> Expr::Scalar() const {
  absl::StatusOr<Tensor> t = value();
  if (!t.ok()) return t.status();
  if (t->num_elements() == 0) return absl::InvalidArgumentError("Scalar(): empty tensor");
  switch (t->dtype()) {
    case DType::kF32: return t->data<float>()[0];
    case DType::kF64: return t->data<double>()[0];
    case DType::kI32: return t->data<int32_t>()[0];
  }
  return 0.0;
}

}  // namespace tg
