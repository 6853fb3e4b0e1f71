#include "graph/compile/from_graph.h"

#include <algorithm>

#include "graph/view.h"

namespace tg::compile {
namespace {

struct ByteRange {
  std::byte* begin;
  std::byte* end;
};

// The maximal byte ranges covered by the graph's tensors that have memory, by address, and
// by the whole gradient of every parameter in the graph: the steps' slices of one parameter's
// gradient (each step's input gradient) then lie in one buffer, whose rows a stacked product
// writes in place. Ranges that only touch stay apart: separate allocations may be adjacent,
// and a run may keep each parameter's gradient elsewhere (lower.h, Relocation).
class RecordedBuffers {
 public:
  explicit RecordedBuffers(const Graph& g) {
    std::vector<ByteRange> ranges;
    auto add = [&](const Tensor& t) {
      if (!HasBytes(t)) return;
      auto* p = static_cast<std::byte*>(t.raw());
      ranges.push_back({p, p + t.num_bytes()});
    };
    for (NodeId id = 0; id < g.num_nodes(); ++id) {
      const Node& n = g.node(id);
      add(n.value);
      if (n.param != nullptr && n.param->grad_buffer != nullptr) add(n.param->grad());
    }
    std::sort(ranges.begin(), ranges.end(),
              [](const ByteRange& a, const ByteRange& b) { return a.begin < b.begin; });
    for (const ByteRange& r : ranges) {
      if (!ranges_.empty() && r.begin < ranges_.back().end) {
        ranges_.back().end = std::max(ranges_.back().end, r.end);
      } else {
        ranges_.push_back(r);
      }
    }
  }
  static bool HasBytes(const Tensor& t) { return t.raw() != nullptr && t.num_bytes() > 0; }
  const std::vector<ByteRange>& ranges() const { return ranges_; }
  // The range holding t's first byte (t has bytes, so one does).
  int Find(const Tensor& t) const {
    const auto* p = static_cast<const std::byte*>(t.raw());
    auto it = std::upper_bound(ranges_.begin(), ranges_.end(), p,
                               [](const std::byte* q, const ByteRange& r) { return q < r.begin; });
    return static_cast<int>(it - ranges_.begin()) - 1;
  }

 private:
  std::vector<ByteRange> ranges_;  // sorted, disjoint
};

}  // namespace

Program ProgramFromGraph(Graph& g, absl::Span<const NodeId> feeds,
                         absl::Span<const NodeId> outputs) {
  Program p;
  const RecordedBuffers recorded(g);
  p.buffers.reserve(recorded.ranges().size() + static_cast<size_t>(g.num_nodes()));
  for (const ByteRange& r : recorded.ranges()) {
    const bool planned = g.arena().Contains(r.begin);
    p.AddBuffer({.bytes = r.end - r.begin,
                 .storage = planned ? Storage::kPlanned : Storage::kExternal,
                 .address = r.begin});
  }
  std::vector<bool> fed(g.num_nodes(), false);
  for (NodeId id : feeds) fed[id] = true;
  p.values.reserve(g.num_nodes());
  for (NodeId id = 0; id < g.num_nodes(); ++id) {
    const Node& n = g.node(id);
    const std::optional<int64_t> view = n.op->is_leaf ? std::nullopt : ViewOffset(g, id);
    const int64_t bytes =
        n.type.shape.num_elements() * static_cast<int64_t>(SizeOf(n.type.dtype));
    BufferId buffer = -1;
    int64_t offset = 0;
    if (RecordedBuffers::HasBytes(n.value)) {
      buffer = recorded.Find(n.value);
      offset = static_cast<std::byte*>(n.value.raw()) - recorded.ranges()[buffer].begin;
    } else if (view.has_value()) {
      const Value& base = p.values[n.inputs[0]];
      buffer = base.buffer;
      offset = base.offset + *view * static_cast<int64_t>(SizeOf(base.dtype));
    } else if (bytes > 0) {
      buffer = p.AddBuffer({.bytes = bytes});
    }
    p.AddValue(buffer, offset, n.type.dtype, n.type.shape, id);
    if (n.op->is_leaf) {
      // Parameters are external memory; alias leaves are gradient buffers the program fills.
      if (n.param == nullptr && !g.IsAliasLeaf(id) && !fed[id] && bytes > 0) {
        p.constants.push_back({id, static_cast<const std::byte*>(n.value.raw())});
      }
      continue;
    }
    if (view.has_value()) continue;
    Instruction& in = p.instructions.emplace_back();
    in.op = n.op;
    in.attrs = &n.attrs;
    in.inputs.assign(n.inputs.begin(), n.inputs.end());
    in.output = id;
    in.accumulate = n.accumulate;
    in.node = id;
  }
  p.feeds.assign(feeds.begin(), feeds.end());
  p.outputs.assign(outputs.begin(), outputs.end());
  p.checkpoints.assign(g.checkpoints().begin(), g.checkpoints().end());
  p.checkpoint_ends = g.checkpoint_ends();
  p.backward_start = g.backward_start();
  return p;
}

}  // namespace tg::compile
