/// \file
/// Graph: the tape. Nodes are kept in creation (= topological) order. Recording and running
/// are apart: AddNode records a node (op, inputs, attributes, inferred type) and, in eager
/// mode, the executor runs its kernel at once. Errors never abort: the first one is kept as
/// the graph's status, and every node built on a failed node is poisoned. That covers bad
/// user input too: a shape of rank above Shape::kMaxRank or with a negative dimension, an
/// unknown dtype, a value count that does not match the shape, an id that does not fit i32,
/// an Expr of another graph, a malformed OpDef, and a tensor above MaxTensorBytes()
/// (ResourceExhausted; graph/tensor.h) are each recorded as an error naming the op and node.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/types/span.h"
#include "graph/arena.h"
#include "graph/exec_options.h"
#include "graph/expr.h"
#include "graph/node.h"
#include "graph/parameter.h"

namespace tg {

/// How a Graph runs.
struct GraphOptions {
  ExecMode mode = ExecMode::kEager;  ///< When nodes run.
  ExecOptions exec = {};             ///< Threads and numeric checks for every kernel.
};

/// Options of Graph::Input.
struct InputOptions {
  /// Backward(loss, {x}) can then differentiate with respect to it (float inputs only).
  bool requires_grad = false;
};

/// The tape (see graph/graph.h). Not copyable; Exprs point at it.
class Graph {
 public:
  /// An empty tape running in `options.mode`.
  explicit Graph(GraphOptions options = {});
  Graph(const Graph&) = delete;
  Graph& operator=(const Graph&) = delete;
  /// Forgets the graph's Exprs: an error about one of them then says its graph is destroyed.
  ~Graph();

  /// Host f32 data entering the graph (copied). values.size() must equal
  /// shape.num_elements(), else the error is recorded on the graph.
  Expr Input(Shape shape, absl::Span<const float> values, InputOptions options = {});
  /// Host f64 data entering the graph (copied), as the f32 form.
  Expr Input(Shape shape, absl::Span<const double> values, InputOptions options = {});
  /// Host i32 data (ids, targets) entering the graph (copied); never requires a gradient.
  Expr Input(Shape shape, absl::Span<const int32_t> values);
  /// int64 ids (what NumPy and PyTorch hand over), stored as i32; a value outside the i32
  /// range is InvalidArgument naming its position and value.
  Expr Input(Shape shape, absl::Span<const int64_t> values);
  /// A copy of `value` entering the graph; only a float one can require a gradient. `value`
  /// must have data for all its elements.
  Expr Input(const Tensor& value, InputOptions options = {});
  /// Like Input, but never requires a gradient.
  Expr Constant(Shape shape, absl::Span<const float> values);
  /// Like Input, but never requires a gradient.
  Expr Constant(Shape shape, absl::Span<const double> values);
  /// Like Input, but never requires a gradient.
  Expr Constant(const Tensor& value);
  /// A tensor of `shape` filled with `value`; for i32, `value` must be a whole number in the
  /// i32 range.
  Expr Fill(Shape shape, double value, DType dtype = DType::kF32);
  /// The parameter's value, aliased (not copied); its gradient lands in the store.
  /// The same parameter gives the same node until Clear().
  Expr Param(Parameter p);

  /// Records one application of `op`; runs it unless the mode or a Deferred scope says not.
  /// An op without an infer function, or without a forward kernel or view, is an error, as
  /// is an input from another graph (named: `matmul: argument 1 is node #3 "tanh" of another
  /// graph`).
  Expr AddNode(const OpDef& op, absl::Span<const Expr> inputs, Attrs attrs = {});

  /// Name scopes: every node records the scope path current when it was added, and errors
  /// name it ("step_3/lstm/matmul"). Scopes nest; the guard pops on destruction.
  class ScopeGuard {
   public:
    /// Pops `g`'s innermost scope when destroyed (Scope and EnterScope push it).
    explicit ScopeGuard(Graph* g) : graph_(g) {}
    /// Takes over `o`'s scope; `o` then pops nothing.
    ScopeGuard(ScopeGuard&& o) noexcept : graph_(o.graph_) { o.graph_ = nullptr; }
    ScopeGuard(const ScopeGuard&) = delete;
    /// Leaves the scope.
    ~ScopeGuard();

   private:
    Graph* graph_;
  };
  /// Enters the child scope `name` of the current scope until the guard is destroyed.
  [[nodiscard]] ScopeGuard Scope(std::string_view name);
  /// The same by id: the child scope `name` of scope `parent` (interned), and entering one.
  /// An unknown scope id is recorded as an error and the root scope is used instead.
  int32_t ChildScope(int32_t parent, std::string_view name);
  /// Enters scope `scope` (an id from ChildScope) until the guard is destroyed.
  [[nodiscard]] ScopeGuard EnterScope(int32_t scope);
  /// Re-enters the scope node `id` was recorded in (Backward puts a node's gradient nodes
  /// under "<its scope>/backward"). An id not in the graph is recorded as an error.
  [[nodiscard]] ScopeGuard EnterScopeOf(NodeId id);

  /// While a Deferred guard lives, eager nodes are recorded but not run; RunPending() runs
  /// them in order. Backward uses this to redirect a gradient node's output before it runs.
  class DeferredGuard {
   public:
    /// Defers `g`'s eager nodes until the guard is destroyed.
    explicit DeferredGuard(Graph* g);
    /// Restores whether nodes were deferred before (guards nest).
    ~DeferredGuard();
    DeferredGuard(const DeferredGuard&) = delete;

   private:
    Graph* graph_;
    bool previous_;
  };
  /// Runs the nodes recorded but not yet run, in order (nothing in ExecMode::kRecord);
  /// returns the graph's status.
  absl::Status RunPending();

  /// Drops every node and rewinds the arena (keeping its memory); the status is OK again.
  /// Exprs from before are stale.
  void Clear();

  /// The first error recorded on this graph (OK if none).
  const absl::Status& status() const { return status_; }
  /// Records an error on behalf of a caller (e.g.\ Backward) unless one is already kept.
  void RecordError(absl::Status status);

  /// Validates an Expr against this graph (ownership, generation); returns its node. An
  /// Expr of another graph is InvalidArgument naming that node (`node #3 "tanh" belongs to
  /// another graph`).
  absl::StatusOr<const Node*> Lookup(Expr e) const;
  /// Node `id` (0 <= id < num_nodes(), unchecked: Lookup is the checked way from an Expr).
  const Node& node(NodeId id) const { return nodes_[id]; }
  /// Node `id`, for Backward and the compiler to set up outputs (unchecked).
  Node& mutable_node(NodeId id) { return nodes_[id]; }
  /// Nodes recorded since construction or the last Clear().
  NodeId num_nodes() const { return static_cast<NodeId>(nodes_.size()); }
  /// A handle to node `id` of the current generation.
  Expr ExprOf(NodeId id) { return Expr(this, id, generation_); }
  /// "step_3/lstm/matmul": the node's scope path and op name ("?" for an id not in the graph).
  std::string NodePath(NodeId id) const;
  /// `(node #41 "step_3/lstm/matmul")`, appended to error messages.
  std::string NodeLabel(NodeId id) const;

  /// When nodes run.
  ExecMode mode() const { return options_.mode; }
  /// The options every kernel runs with.
  const ExecOptions& exec_options() const { return options_.exec; }
  /// The memory of the nodes' values.
  Arena& arena() { return arena_; }
  /// Unique in the process: a new graph and every Clear() take the next number, so Exprs
  /// from before a Clear() (or of another graph) are recognised as stale.
  uint32_t generation() const { return generation_; }

  /// A leaf whose value is an existing tensor (aliased, not copied); used by Backward to
  /// hand out gradient buffers as Exprs.
  Expr AliasLeaf(const Tensor& value);
  /// Whether node `id` is such a leaf (its memory belongs to another value); false for an
  /// id not in the graph.
  bool IsAliasLeaf(NodeId id) const;

  /// Marks `values`, made together (an LSTM's h and c after a step), as one checkpoint: values
  /// a compiled program keeps while it recomputes the forward work between checkpoints during
  /// backward instead of keeping that (CompileSpec::recompute); the work recorded after the
  /// last of them is the next segment's. Unroll marks the carried state every
  /// UnrollOptions::checkpoint_every steps; a loop of one's own may mark any values. An Expr
  /// of another graph or generation is recorded as an error.
  void MarkCheckpoint(absl::Span<const Expr> values);
  /// MarkCheckpoint({e}).
  void MarkCheckpoint(Expr e) { MarkCheckpoint(absl::Span<const Expr>(&e, 1)); }
  /// The values marked since construction or the last Clear(), as node ids, ascending.
  const std::vector<NodeId>& checkpoints() const { return checkpoints_; }
  /// Where the segments end: for each checkpoint, the last of its values' nodes, ascending.
  const std::vector<NodeId>& checkpoint_ends() const { return checkpoint_ends_; }
  /// Called by Backward when it starts appending nodes: the first call since construction or
  /// the last Clear() records where the forward work ends.
  void MarkBackwardStart();
  /// The first node Backward appended (nodes before it are the forward work), or num_nodes()
  /// if Backward has not run on this graph.
  NodeId backward_start() const { return backward_start_ >= 0 ? backward_start_ : num_nodes(); }

 private:
  Expr AddLeaf(const OpDef& op, DType dtype, Shape shape, const void* data, size_t count,
               bool requires_grad);
  // nodes_.emplace_back() for every caller but AddNode, out of line: with the one call
  // site left, GCC inlines the construction into AddNode, the path every op takes.
  [[gnu::noinline]] Node& AppendNode();
  // A poisoned leaf recording `status` (prefixed with the op and followed by the node label).
  Expr FailedLeaf(const OpDef& op, TensorType type, const absl::Status& status);
  Expr Poisoned(const OpDef& op, absl::Span<const Expr> inputs, Attrs attrs);
  // A poisoned node recording `status` followed by the node label (AddNode's refusals).
  [[gnu::cold, gnu::noinline]] Expr Refuse(const OpDef& op, absl::Span<const Expr> inputs,
                                           Attrs attrs, const absl::Status& status);
  bool ValidNode(NodeId id) const { return id >= 0 && id < num_nodes(); }
  bool ValidScope(int32_t scope) const {
    return scope >= 0 && scope < static_cast<int32_t>(scopes_.size());
  }
  absl::Status RunNode(NodeId id);
  void Fail(NodeId id, const absl::Status& status);

  GraphOptions options_;
  Arena arena_;
  std::vector<Node> nodes_;
  // Scopes form a tree of interned names; a node stores its scope's id, and the path string
  // is spelled out only for errors. Entering a known scope allocates nothing.
  struct ScopeEntry {
    std::string path;  // "step_3/lstm"; "" for the root (index 0)
    absl::flat_hash_map<std::string, int32_t> children;
  };
  std::vector<ScopeEntry> scopes_;
  std::vector<int32_t> scope_stack_;
  absl::flat_hash_map<const ParamData*, NodeId> param_nodes_;
  absl::Status status_;
  // Unique across the graphs of the process (a new graph or a Clear() takes the next), so an
  // Expr of a destroyed graph is never taken for one of a graph at the same address.
  uint32_t generation_;
  bool deferred_ = false;
  NodeId first_pending_ = 0;  // nodes before this one have run (or never will)
  std::vector<NodeId> checkpoints_;      // ascending, unique
  std::vector<NodeId> checkpoint_ends_;  // ascending, unique
  NodeId backward_start_ = -1;       // -1: Backward has not run
};

}  // namespace tg
