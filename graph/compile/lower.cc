#include "graph/compile/lower.h"

#include <algorithm>
#include <cstring>
#include <deque>
#include <iterator>
#include <optional>

#include "absl/container/flat_hash_map.h"
#include "graph/compile/fuse_pointwise.h"
#include "absl/hash/hash.h"

namespace tg::compile {
namespace {

class Operands {
 public:
  Operands(const Program& program, const Placement& placement,
           absl::Span<const Relocation> relocations)
      : program_(program), placement_(placement), relocated_(program.buffers.size()) {
    for (size_t b = 0; b < program.buffers.size(); ++b) {
      const Buffer& buffer = program.buffers[b];
      if (buffer.storage != Storage::kExternal) continue;
      for (const Relocation& r : relocations) {
        if (buffer.address >= r.begin && buffer.address < r.begin + r.bytes) {
          relocated_[b] = r.offset + (buffer.address - r.begin);
        }
      }
    }
  }

  Operand Of(ValueId id) const {
    const Value& v = program_.values[id];
    Operand o{.bytes = v.bytes, .shape = v.shape, .dtype = v.dtype};
    if (v.buffer < 0) return o;  // no bytes: a null address
    const Buffer& b = program_.buffers[v.buffer];
    if (b.storage == Storage::kPlanned) {
      o.space = Space::kArena;
      o.offset = placement_.offset[v.buffer] + v.offset;
    } else if (relocated_[v.buffer].has_value()) {
      o.space = Space::kGradients;
      o.offset = *relocated_[v.buffer] + v.offset;
    } else {
      o.offset = static_cast<int64_t>(reinterpret_cast<uintptr_t>(b.address + v.offset));
    }
    return o;
  }

 private:
  const Program& program_;
  const Placement& placement_;
  std::vector<std::optional<int64_t>> relocated_;  // per external buffer
};

// The distinct attributes of the steps, each stored once: an unroll repeats a handful.
class AttrsTable {
 public:
  int32_t Intern(const Attrs& a) {
    auto it = ids_.find(&a);
    if (it != ids_.end()) return it->second;
    const int32_t id = static_cast<int32_t>(stored_.size());
    stored_.push_back(a);
    ids_.emplace(&stored_.back(), id);  // a deque keeps the key where it is
    return id;
  }
  std::vector<Attrs> Take() && {
    return std::vector<Attrs>(std::make_move_iterator(stored_.begin()),
                              std::make_move_iterator(stored_.end()));
  }

 private:
  static uint64_t Bits(double d) {
    uint64_t bits;
    std::memcpy(&bits, &d, sizeof bits);
    return bits;
  }
  struct Hash {
    size_t operator()(const Attrs* a) const {
      return absl::HashOf(absl::MakeConstSpan(a->ints), Bits(a->scalar), a->shape.dims(),
                          a->shape.requested_rank());
    }
  };
  struct Eq {
    bool operator()(const Attrs* a, const Attrs* b) const {
      return absl::MakeConstSpan(a->ints) == absl::MakeConstSpan(b->ints) &&
             Bits(a->scalar) == Bits(b->scalar) && a->shape == b->shape;
    }
  };
  std::deque<Attrs> stored_;
  absl::flat_hash_map<const Attrs*, int32_t, Hash, Eq> ids_;
};

}  // namespace

Executable Lower(const Program& program, absl::Span<const Lifetime> lifetimes,
                 const Placement& placement, absl::Span<const Relocation> relocations,
                 const FusionPlan* fusion) {
  const Operands placed(program, placement, relocations);
  struct {
    const Operands& placed;
    const Program& program;
    const FusionPlan* fusion;
    Operand Of(ValueId v) const {
      if (fusion == nullptr || !fusion->internal[v]) return placed.Of(v);
      const Value& value = program.values[v];
      return {.offset = v, .bytes = value.bytes, .shape = value.shape, .space = Space::kScratch,
              .dtype = value.dtype};
    }
  } operands{placed, program, fusion};
  // Where each buffer is first touched (a fused run's lifetimes start at the run).
  std::vector<int> first(program.buffers.size(), -1);
  for (int k = static_cast<int>(program.instructions.size()) - 1; k >= 0; --k) {
    const Instruction& in = program.instructions[k];
    for (ValueId v : in.inputs) {
      if (program.values[v].buffer >= 0) first[program.values[v].buffer] = k;
    }
    if (program.values[in.output].buffer >= 0) first[program.values[in.output].buffer] = k;
  }
  size_t next_run = 0;
  std::vector<Step> members;
  std::vector<FusionOp> ops;
  Executable e;
  e.arena_bytes = placement.bytes;
  ShapeTable shapes = program.shapes;  // and the zeroings' shapes
  AttrsTable attrs;
  e.steps.reserve(program.instructions.size());
  std::vector<bool> zeroed(program.buffers.size(), false);
  for (int k = 0; k < static_cast<int>(program.instructions.size()); ++k) {
    const Instruction& in = program.instructions[k];
    Step s;
    s.op = in.op;
    s.attrs = attrs.Intern(*in.attrs);
    s.output = operands.Of(in.output);
    s.accumulate = in.accumulate;
    s.node = in.node;
    s.stacked = in.stacked;
    s.prepares = in.prepares;
    s.prepared = in.prepared;
    for (ValueId v : in.inputs) s.inputs.push_back(operands.Of(v));
    // Buffers summed into that this instruction touches first start from zero here.
    auto zero_first = [&](ValueId v, bool written) {
      const BufferId b = program.values[v].buffer;
      if (b < 0 || program.buffers[b].storage != Storage::kPlanned || zeroed[b] ||
          !lifetimes[b].zero_first || first[b] != k) {
        return;
      }
      zeroed[b] = true;
      const Value& value = program.values[v];
      const bool covers = value.offset == 0 && value.bytes == program.buffers[b].bytes;
      bool reads = false;
      for (ValueId x : in.inputs) reads = reads || program.Overlap(x, v);
      if (written && covers && !reads) {
        s.accumulate = false;  // a sum into zeros is a write
        return;
      }
      Step& zero = e.steps.emplace_back();  // op-less: zeroes its output
      const int64_t bytes = program.buffers[b].bytes;
      zero.output = {.offset = placement.offset[b], .bytes = bytes,
                     .shape = shapes.Intern(Shape{bytes / 4}), .space = Space::kArena,
                     .dtype = DType::kI32};
      zero.node = in.node;
    };
    for (ValueId v : in.inputs) zero_first(v, false);
    zero_first(in.output, true);
    while (fusion != nullptr && next_run < fusion->runs.size() &&
           fusion->runs[next_run].end <= k) {
      ++next_run;
    }
    const RunSpan* run = fusion != nullptr && next_run < fusion->runs.size() &&
                                 fusion->runs[next_run].begin <= k
                             ? &fusion->runs[next_run]
                             : nullptr;
    if (run == nullptr) {
      e.steps.push_back(std::move(s));
      continue;
    }
    // A run's zeroings go before it (its buffers live from its first instruction on).
    members.push_back(std::move(s));
    ops.push_back(FusionOpOf(program, in));
    if (k + 1 == run->end) {
      Step fused = BuildFusedStep(std::move(members), ops, run->flat);
      e.scratch_bytes = std::max(e.scratch_bytes, fused.run->scratch_bytes);
      e.steps.push_back(std::move(fused));
      members.clear();
      ops.clear();
    }
  }
  for (ValueId v : program.feeds) e.feeds.push_back(operands.Of(v));
  for (ValueId v : program.outputs) e.outputs.push_back(operands.Of(v));
  for (const Constant& c : program.constants) {
    const Operand o = operands.Of(c.value);
    if (o.space != Space::kArena) continue;  // memory outside the program keeps its bytes
    const int64_t bytes = program.values[c.value].bytes;
    e.constants.push_back(
        {.offset = o.offset, .bytes = std::vector<std::byte>(c.bytes, c.bytes + bytes)});
  }
  e.shapes = shapes.shapes();
  e.attrs = std::move(attrs).Take();
  return e;
}

}  // namespace tg::compile
