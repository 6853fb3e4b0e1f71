#include "graph/compile/compiled_graph.h"

#include <algorithm>
#include <cstring>
#include <limits>

#include "fmt/format.h"
#include "graph/compile/fuse_pointwise.h"
#include "graph/compile/liveness.h"
#include "graph/compile/memory_plan.h"
#include "graph/compile/stack_rows.h"
#include "graph/executor.h"
#include "graph/view.h"
#include "base/random.h"
#include "base/status_macros.h"

namespace tg {
namespace {

using compile::BufferMap;
using compile::Instruction;
using compile::Program;

bool IsView(const Graph& g, NodeId id, std::optional<int64_t>* offset = nullptr) {
  std::optional<int64_t> at = ViewOffset(g, id);
  if (offset != nullptr) *offset = at;
  return at.has_value();
}

// Record mode leaves values unassigned: give every node the memory the executor would.
absl::Status Materialize(Graph& g) {
  for (NodeId id = 0; id < g.num_nodes(); ++id) {
    Node& n = g.mutable_node(id);
    if (n.value.has_data()) continue;
    std::optional<int64_t> offset;
    if (IsView(g, id, &offset)) {
      n.value = g.node(n.inputs[0]).value.View(*offset, n.type.shape);
    } else {
      const size_t bytes = SizeOf(n.type.dtype) * static_cast<size_t>(n.type.shape.num_elements());
      void* memory = g.arena().Allocate(bytes);
      if (memory == nullptr) {
        return absl::ResourceExhaustedError(
            fmt::format("Compile: out of memory allocating {} bytes for {} {} {}", bytes,
                        n.type.shape, n.type.dtype, g.NodeLabel(id)));
      }
      n.value = Tensor(memory, n.type.dtype, n.type.shape);
    }
  }
  return absl::OkStatus();
}

Program Record(const Graph& g) {
  Program program;
  for (NodeId id = 0; id < g.num_nodes(); ++id) {
    const Node& n = g.node(id);
    if (n.op->is_leaf || IsView(g, id)) continue;
    Instruction in;
    in.op = n.op;
    in.attrs = n.attrs;
    for (NodeId x : n.inputs) in.inputs.push_back(g.node(x).value);
    in.output = n.value;
    in.accumulate = n.accumulate;
    in.node = id;
    program.push_back(std::move(in));
  }
  return program;
}

bool SameRange(const Tensor& a, const Tensor& b) {
  return a.raw() == b.raw() && a.num_bytes() == b.num_bytes();
}

bool Overlaps(const Tensor& a, const Tensor& b) {
  const compile::ByteRange x = compile::RangeOf(a), y = compile::RangeOf(b);
  return x.begin < y.end && y.begin < x.end;
}

// Keeps what an output, a parameter gradient (memory outside the graph) or a kept
// instruction needs.
std::vector<bool> Needed(const Program& program, const compile::Dependencies& deps,
                         const BufferMap& buffers, absl::Span<const Tensor> outputs) {
  std::vector<bool> needed(program.size(), false);
  for (int i = static_cast<int>(program.size()) - 1; i >= 0; --i) {
    const Tensor& out = program[i].output;
    const int b = buffers.Find(out);
    bool need = b < 0 || !buffers.buffer(b).movable;
    for (const Tensor& o : outputs) need = need || Overlaps(out, o);
    for (int j : deps.after(i)) need = need || needed[j];
    needed[i] = need;
  }
  return needed;
}

absl::Status CheckSpec(Graph& g, const CompileSpec& spec) {
  TG_RETURN_IF_ERROR(g.status());
  if (g.arena().has_blocks()) {
    return absl::FailedPreconditionError(
        "Compile: Backward reused gradient buffers on this graph; record it with "
        "ExecMode::kRecord, or run Backward with BackwardOptions{.reuse_buffers = false}");
  }
  for (size_t i = 0; i < spec.feeds.size(); ++i) {
    TG_ASSIGN_OR_RETURN(const Node* n, g.Lookup(spec.feeds[i]));
    if (!n->op->is_leaf || n->param != nullptr || g.IsAliasLeaf(spec.feeds[i].id())) {
      return absl::InvalidArgumentError(fmt::format(
          "Compile: feed {} must be an input made by Graph::Input, got {}", i,
          g.NodeLabel(spec.feeds[i].id())));
    }
  }
  for (const Expr& e : spec.outputs) TG_RETURN_IF_ERROR(g.Lookup(e).status());
  return absl::OkStatus();
}

// How the replayed program uses each buffer: from the first instruction touching it to the
// last (values the host sets or reads -- leaves, outputs -- live throughout), and whether
// something sums into it (it then starts from zero where it is first touched).
struct BufferUse {
  std::vector<std::pair<int, int>> live;
  std::vector<int> first_touch;
  std::vector<bool> accumulated;
};

template <class Members>
absl::StatusOr<BufferUse> UseOfBuffers(const Graph& g, const Program& program,
                                       const BufferMap& buffers, const std::vector<int>& order,
                                       const Members& members, absl::Span<const Tensor> outputs) {
  const int steps = static_cast<int>(order.size());
  BufferUse use{.live = std::vector<std::pair<int, int>>(
                    buffers.size(), {std::numeric_limits<int>::max(), -1}),
                .first_touch = std::vector<int>(buffers.size()),
                .accumulated = std::vector<bool>(buffers.size(), false)};
  auto touch = [&](const Tensor& t, int at) {
    const int b = buffers.Find(t);
    if (b < 0) return;
    use.live[b].first = std::min(use.live[b].first, at);
    use.live[b].second = std::max(use.live[b].second, at);
  };
  for (int k = 0; k < steps; ++k) {
    for (int m : members(order[k])) {
      for (const Tensor& t : program[m].inputs) touch(t, k);
      touch(program[m].output, k);
      const int b = buffers.Find(program[m].output);
      if (program[m].accumulate && b >= 0 && buffers.buffer(b).movable) use.accumulated[b] = true;
    }
  }
  std::vector<bool> pinned(buffers.size(), false);
  for (NodeId id = 0; id < g.num_nodes(); ++id) {
    if (!g.node(id).op->is_leaf || g.IsAliasLeaf(id)) continue;
    const int b = buffers.Find(g.node(id).value);
    if (b < 0) continue;
    if (use.accumulated[b]) {
      return absl::UnimplementedError(fmt::format(
          "Compile: {} is a leaf whose memory is accumulated into", g.NodeLabel(id)));
    }
    pinned[b] = true;
  }
  for (const Tensor& o : outputs) {
    if (int b = buffers.Find(o); b >= 0) pinned[b] = true;
  }
  for (int b = 0; b < buffers.size(); ++b) {
    use.first_touch[b] = use.live[b].first;
    if (pinned[b]) use.live[b] = {0, steps};
    if (use.live[b].second < 0) use.live[b] = {steps, steps};  // never touched: pruned work
  }
  return use;
}

// CompileSpec::private_gradients: each parameter's gradient in the store, and the same
// bytes in the program's own memory that the replay uses instead.
class GradientHomes {
 public:
  GradientHomes(const Graph& g, bool enabled) {
    if (!enabled) return;
    for (NodeId id = 0; id < g.num_nodes(); ++id) {
      ParamData* p = g.node(id).param;
      if (p == nullptr || p->grad_buffer == nullptr) continue;
      moves_.push_back({Parameter(p), bytes_});
      bytes_ += (p->grad().num_bytes() + 63) / 64 * 64;  // each one 64-byte aligned
    }
  }
  size_t bytes() const { return bytes_; }

  // Where `t` lives in `memory` if it lies in a parameter's gradient, else `t`.
  Tensor Translate(const Tensor& t, std::byte* memory) const {
    for (const Move& m : moves_) {
      const Tensor home = m.param.grad();
      const std::byte* begin = static_cast<const std::byte*>(home.raw());
      const std::byte* at = static_cast<const std::byte*>(t.raw());
      if (at >= begin && at < begin + home.num_bytes()) {
        return Tensor(memory + m.offset + (at - begin), t.dtype(), t.shape());
      }
    }
    return t;
  }

  std::vector<PrivateGradient> Gradients(std::byte* memory) const {
    std::vector<PrivateGradient> out;
    for (const Move& m : moves_) {
      out.push_back({m.param, Translate(m.param.grad(), memory)});
    }
    return out;
  }

 private:
  struct Move {
    Parameter param;
    size_t offset;
  };
  std::vector<Move> moves_;
  size_t bytes_ = 0;
};

}  // namespace

absl::StatusOr<CompiledGraph> Compile(Graph& g, const CompileSpec& spec) {
  TG_RETURN_IF_ERROR(CheckSpec(g, spec));
  TG_RETURN_IF_ERROR(Materialize(g));
  const Program program = Record(g);
  std::vector<Tensor> tensors;
  for (NodeId id = 0; id < g.num_nodes(); ++id) tensors.push_back(g.node(id).value);
  const BufferMap buffers(tensors, [&](const void* p) { return g.arena().Contains(p); });
  const compile::Dependencies deps(program, buffers);
  std::vector<Tensor> outputs;
  for (const Expr& e : spec.outputs) outputs.push_back(g.node(e.id()).value);

  std::vector<bool> alive = Needed(program, deps, buffers, outputs);
  std::vector<int> position(program.size());
  for (size_t i = 0; i < program.size(); ++i) position[i] = static_cast<int>(i);
  compile::MemoryPlan plan(buffers);
  std::vector<compile::StackedGroup> groups;
  if (spec.stack_rows) groups = compile::StackRows(program, deps, buffers, plan, position, alive);

  // The replay order, and which original instructions each replayed one stands for.
  std::vector<int> order;
  for (size_t i = 0; i < program.size(); ++i) {
    if (alive[i]) order.push_back(static_cast<int>(i));
  }
  std::sort(order.begin(), order.end(), [&](int a, int b) { return position[a] < position[b]; });
  std::vector<int> group_of(program.size(), -1);
  for (size_t k = 0; k < groups.size(); ++k) group_of[groups[k].at] = static_cast<int>(k);
  auto members = [&](int i) -> std::vector<int> {
    return group_of[i] >= 0 ? groups[group_of[i]].members : std::vector<int>{i};
  };

  TG_ASSIGN_OR_RETURN(const BufferUse use,
                      UseOfBuffers(g, program, buffers, order, members, outputs));
  const int steps = static_cast<int>(order.size());

  CompiledGraph c;
  c.peak_bytes_ = plan.Place(use.live);
  absl::StatusOr<AlignedBuffer> memory = TryAllocateAligned(std::max<size_t>(c.peak_bytes_, 64));
  if (!memory.ok()) {
    return absl::Status(memory.status().code(),
                        fmt::format("Compile: the program's memory: {}", memory.status().message()));
  }
  c.memory_ = *std::move(memory);
  plan.SetBase(c.memory_.get());
  for (NodeId id = 0; id < g.num_nodes(); ++id) {  // constants keep their values
    const Node& n = g.node(id);
    if (!n.op->is_leaf || g.IsAliasLeaf(id) || n.value.num_bytes() == 0) continue;
    std::memcpy(plan.Translate(n.value).raw(), n.value.raw(), n.value.num_bytes());
  }

  const GradientHomes gradient_homes(g, spec.private_gradients);
  c.gradient_bytes_ = gradient_homes.bytes();
  if (c.gradient_bytes_ > 0) {
    absl::StatusOr<AlignedBuffer> gradients = TryAllocateAligned(c.gradient_bytes_);
    if (!gradients.ok()) {
      return absl::Status(gradients.status().code(),
                          fmt::format("Compile: the private gradients: {}",
                                      gradients.status().message()));
    }
    c.gradient_memory_ = *std::move(gradients);
    c.private_gradients_ = gradient_homes.Gradients(c.gradient_memory_.get());
  }
  auto home = [&](const Tensor& t) {
    return gradient_homes.Translate(t, c.gradient_memory_.get());
  };

  std::vector<bool> zeroed(buffers.size(), false);
  for (int k = 0; k < steps; ++k) {
    const int i = order[k];
    Instruction in;
    if (group_of[i] >= 0) {
      in = compile::StackedInstruction(program, groups[group_of[i]], plan);
      c.num_stacked_ += in.stacked;
    } else {
      in = program[i];
      for (Tensor& t : in.inputs) t = plan.Translate(t);
      in.output = plan.Translate(in.output);
    }
    // A buffer summed into starts from zero where it is first touched -- unless the first
    // touch covers exactly that buffer and reads nothing of it: then it writes (a sum into
    // zeros becomes a plain write) and nothing needs zeroing.
    std::vector<Tensor> to_zero;
    for (int m : members(i)) {
      const int b = buffers.Find(program[m].output);
      if (b < 0 || !use.accumulated[b] || zeroed[b] || use.first_touch[b] != k) continue;
      zeroed[b] = true;
      to_zero.emplace_back(plan.NewAddress(b), DType::kI32,
                           Shape{static_cast<int64_t>(buffers.buffer(b).bytes() / 4)});
    }
    if (to_zero.size() == 1 && SameRange(to_zero[0], in.output) &&
        std::none_of(in.inputs.begin(), in.inputs.end(),
                     [&](const Tensor& t) { return Overlaps(t, in.output); })) {
      in.accumulate = false;
      to_zero.clear();
    }
    for (Tensor& t : in.inputs) t = home(t);
    in.output = home(in.output);
    for (const Tensor& t : to_zero) c.program_.emplace_back().output = t;  // op-less: zero
    c.program_.push_back(std::move(in));
  }
  // check_numerics names the op that made a NaN, so each op keeps its own instruction.
  if (spec.fuse_pointwise && !g.exec_options().check_numerics) {
    c.program_ = compile::FusePointwise(std::move(c.program_));
  }
  for (size_t k = 0; k < c.program_.size(); ++k) {
    Instruction& in = c.program_[k];
    if (in.op != nullptr && in.op->seed_attr >= 0) {
      c.seeded_.push_back({k, static_cast<uint64_t>(in.attrs.Int(in.op->seed_attr))});
      // A node may leave the seed out (Attrs::Int reads it as 0); Run writes its slot.
      const size_t slots = static_cast<size_t>(in.op->seed_attr) + 1;
      if (in.attrs.ints.size() < slots) in.attrs.ints.resize(slots, 0);
    }
    const bool zero = in.op == nullptr && in.fused.empty();
    c.paths_.push_back(zero ? "zero" : g.NodePath(in.node));
    c.num_kernels_ += zero ? 0 : 1;
  }
  for (const Expr& e : spec.feeds) {
    c.feeds_.push_back(plan.Translate(g.node(e.id()).value));
    c.feed_labels_.push_back(g.NodeLabel(e.id()));
  }
  for (const Tensor& o : outputs) c.outputs_.push_back(plan.Translate(o));
  c.options_ = g.exec_options();
  return c;
}

std::string CompiledGraph::Listing() const {
  std::string out;
  for (size_t k = 0; k < program_.size(); ++k) {
    const Instruction& in = program_[k];
    const std::string name = !in.fused.empty() ? fmt::format("fused {}", in.fused.size())
                             : in.op == nullptr ? "zero"
                                                : std::string(in.op->name);
    out += fmt::format("{} {}{} {}{} {}\n", k, name,
                       in.stacked > 1 ? fmt::format(" x{}", in.stacked) : "", in.output.shape(),
                       in.accumulate ? " +=" : "", paths_[k]);
  }
  return out;
}

absl::Status CompiledGraph::CheckFeeds(absl::Span<const Tensor> feeds) const {
  if (feeds.size() != feeds_.size()) {
    std::string expected;
    for (size_t i = 0; i < feeds_.size(); ++i) {
      expected += fmt::format("{}{} {}", i == 0 ? "" : ", ", feeds_[i].shape(), feeds_[i].dtype());
    }
    return absl::InvalidArgumentError(
        fmt::format("CompiledGraph::Run: {} feeds given, compiled with {} ({})", feeds.size(),
                    feeds_.size(), expected));
  }
  for (size_t i = 0; i < feeds.size(); ++i) {
    if (feeds[i].dtype() != feeds_[i].dtype() || !(feeds[i].shape() == feeds_[i].shape())) {
      return absl::InvalidArgumentError(fmt::format(
          "CompiledGraph::Run: feed {} is {} {}, compiled for {} {} {}", i, feeds[i].shape(),
          feeds[i].dtype(), feeds_[i].shape(), feeds_[i].dtype(), feed_labels_[i]));
    }
    if (!feeds[i].has_data()) {
      return absl::InvalidArgumentError(
          fmt::format("CompiledGraph::Run: feed {} ({} {}) has no data {}", i, feeds[i].shape(),
                      feeds[i].dtype(), feed_labels_[i]));
    }
  }
  return absl::OkStatus();
}

absl::Status CompiledGraph::Run(absl::Span<const Tensor> feeds) {
  TG_RETURN_IF_ERROR(CheckFeeds(feeds));
  for (size_t i = 0; i < feeds.size(); ++i) TG_RETURN_IF_ERROR(feeds_[i].CopyFrom(feeds[i]));
  if (gradient_bytes_ > 0) std::memset(gradient_memory_.get(), 0, gradient_bytes_);
  for (const Seeded& s : seeded_) {
    Instruction& in = program_[s.instruction];
    in.attrs.ints[in.op->seed_attr] = static_cast<int64_t>(ReplaySeed(s.recorded_seed, runs_));
  }
  ++runs_;
  for (size_t k = 0; k < program_.size(); ++k) {
    const Instruction& in = program_[k];
    if (!in.fused.empty()) {
      compile::RunFused(in, options_.num_threads);
      continue;
    }
    if (in.op == nullptr) {
      in.output.SetZero();
      continue;
    }
    absl::Status s = in.op->forward(
        KernelContext{in.inputs, in.output, in.attrs, in.accumulate, options_});
    if (s.ok() && options_.check_numerics) s = CheckFinite(in.output);
    if (!s.ok()) {
      return absl::Status(s.code(), fmt::format("{}: {} (compiled, node #{} \"{}\")",
                                                in.op->name, s.message(), in.node, paths_[k]));
    }
  }
  return absl::OkStatus();
}

}  // namespace tg
