#include "graph/compile/lower.h"

#include <cstring>
#include <optional>

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
    Operand o{.dtype = v.dtype, .shape = v.shape};
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

}  // namespace

Executable Lower(const Program& program, absl::Span<const Lifetime> lifetimes,
                 const Placement& placement, absl::Span<const Relocation> relocations) {
  const Operands operands(program, placement, relocations);
  Executable e;
  e.arena_bytes = placement.bytes;
  e.steps.reserve(program.instructions.size());
  std::vector<bool> zeroed(program.buffers.size(), false);
  for (int k = 0; k < static_cast<int>(program.instructions.size()); ++k) {
    const Instruction& in = program.instructions[k];
    Step s;
    s.op = in.op;
    s.attrs = in.attrs;
    s.output = operands.Of(in.output);
    s.accumulate = in.accumulate;
    s.node = in.node;
    s.stacked = in.stacked;
    for (ValueId v : in.inputs) s.inputs.push_back(operands.Of(v));
    // Buffers summed into that this instruction touches first start from zero here.
    auto zero_first = [&](ValueId v, bool written) {
      const BufferId b = program.values[v].buffer;
      if (b < 0 || program.buffers[b].storage != Storage::kPlanned || zeroed[b] ||
          !lifetimes[b].accumulated || lifetimes[b].first != k) {
        return;
      }
      zeroed[b] = true;
      const Value& value = program.values[v];
      const bool covers = value.offset == 0 && value.bytes() == program.buffers[b].bytes;
      bool reads = false;
      for (ValueId x : in.inputs) reads = reads || program.Overlap(x, v);
      if (written && covers && !reads) {
        s.accumulate = false;  // a sum into zeros is a write
        return;
      }
      Step& zero = e.steps.emplace_back();  // op-less: zeroes its output
      zero.output = {.space = Space::kArena, .offset = placement.offset[b],
                     .dtype = DType::kI32, .shape = Shape{program.buffers[b].bytes / 4}};
      zero.node = in.node;
    };
    for (ValueId v : in.inputs) zero_first(v, false);
    zero_first(in.output, true);
    e.steps.push_back(std::move(s));
  }
  for (ValueId v : program.feeds) e.feeds.push_back(operands.Of(v));
  for (ValueId v : program.outputs) e.outputs.push_back(operands.Of(v));
  for (const Constant& c : program.constants) {
    const Operand o = operands.Of(c.value);
    if (o.space != Space::kArena) continue;  // memory outside the program keeps its bytes
    const int64_t bytes = program.values[c.value].bytes();
    e.constants.push_back({.offset = o.offset, .bytes = std::vector<std::byte>(c.bytes, c.bytes + bytes)});
  }
  return e;
}

}  // namespace tg::compile
