#include "graph/graph.h"

#include <algorithm>
#include <atomic>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "fmt/format.h"
#include "graph/executor.h"

// The tape itself: construction, scopes, lookups, AddNode, running and clearing. Leaves are in
// graph/inputs.cc, the Expr accessors in graph/expr.cc.
namespace tg {
namespace {

std::string DescribeTypes(absl::Span<const TensorType> types) {
  return absl::StrJoin(types, ", ", [](std::string* out, const TensorType& t) {
    out->append(fmt::format("{} {}", t.shape, t.dtype));
  });
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
  checkpoints_.clear();
  checkpoint_ends_.clear();
  backward_start_ = -1;
}

namespace {

// Adds `id` to an ascending vector of unique ids.
void InsertSorted(std::vector<NodeId>& ids, NodeId id) {
  auto at = std::lower_bound(ids.begin(), ids.end(), id);
  if (at == ids.end() || *at != id) ids.insert(at, id);
}

}  // namespace

void Graph::MarkCheckpoint(absl::Span<const Expr> values) {
  NodeId end = -1;
  for (const Expr& e : values) {
    absl::StatusOr<const Node*> n = Lookup(e);
    if (!n.ok()) {
      RecordError(absl::Status(n.status().code(),
                               fmt::format("Graph::MarkCheckpoint: {}", n.status().message())));
      return;
    }
    end = std::max(end, e.id());
  }
  if (end < 0) return;
  for (const Expr& e : values) InsertSorted(checkpoints_, e.id());
  InsertSorted(checkpoint_ends_, end);
}

void Graph::MarkBackwardStart() {
  if (backward_start_ < 0) backward_start_ = num_nodes();
}

}  // namespace tg
