#include "graph/compile/prepare_operands.h"

#include <algorithm>
#include <iterator>
#include <optional>
#include <tuple>
#include <vector>

#include "absl/container/flat_hash_map.h"

namespace tg::compile {
namespace {

// The bytes the instructions write, per buffer: sorted, merged intervals.
class WrittenBytes {
 public:
  explicit WrittenBytes(const Program& p) : by_buffer_(p.buffers.size()) {
    for (const Instruction& in : p.instructions) {
      const Value& v = p.values[in.output];
      if (v.buffer >= 0 && v.bytes > 0) by_buffer_[v.buffer].push_back({v.offset, v.end()});
    }
    for (std::vector<Interval>& list : by_buffer_) {
      std::sort(list.begin(), list.end());
      std::vector<Interval> merged;
      for (const Interval& i : list) {
        if (!merged.empty() && i.begin <= merged.back().end) {
          merged.back().end = std::max(merged.back().end, i.end);
        } else {
          merged.push_back(i);
        }
      }
      list = std::move(merged);
    }
    // External buffers are distinct ranges of memory outside the program, so bytes written
    // in one are never bytes of another.
  }
  // Whether an instruction writes a byte of value `v`.
  bool Touches(const Value& v) const {
    const std::vector<Interval>& list = by_buffer_[v.buffer];
    auto it = std::upper_bound(list.begin(), list.end(), Interval{v.offset, v.end()});
    if (it != list.end() && it->begin < v.end()) return true;
    return it != list.begin() && std::prev(it)->end > v.offset;
  }

 private:
  struct Interval {
    int64_t begin, end;
    bool operator<(const Interval& o) const {
      return std::tie(begin, end) < std::tie(o.begin, o.end);
    }
  };
  std::vector<std::vector<Interval>> by_buffer_;
};

// One prepared copy: the bytes of one operand value in one form of one op.
struct FormKey {
  BufferId buffer;
  int64_t offset, bytes;
  ShapeId shape;
  DType dtype;
  const OpDef* op;
  int operand;
  int64_t kind, form_bytes;
  template <typename H>
  friend H AbslHashValue(H h, const FormKey& k) {
    return H::combine(std::move(h), k.buffer, k.offset, k.bytes, k.shape, k.dtype, k.op,
                      k.operand, k.kind, k.form_bytes);
  }
  bool operator==(const FormKey& o) const {
    return std::tie(buffer, offset, bytes, shape, dtype, op, operand, kind, form_bytes) ==
           std::tie(o.buffer, o.offset, o.bytes, o.shape, o.dtype, o.op, o.operand, o.kind,
                    o.form_bytes);
  }
};

struct Group {
  ValueId operand = -1;  // the value the first reader reads
  int operand_index = -1;
  int64_t form_bytes = 0;
  std::vector<int> readers;  // instruction indices, ascending
};

}  // namespace

Program PrepareOperands(Program p, PrepareStats* stats) {
  const WrittenBytes written(p);
  absl::flat_hash_map<FormKey, int> group_of;
  std::vector<Group> groups;
  std::vector<int> group_of_reader(p.instructions.size(), -1);
  std::vector<TensorType> types;
  for (size_t k = 0; k < p.instructions.size(); ++k) {
    const Instruction& in = p.instructions[k];
    if (in.op == nullptr || !in.op->prepare || in.prepares >= 0 || in.prepared >= 0) continue;
    types.clear();
    for (ValueId v : in.inputs) types.push_back({p.values[v].dtype, p.shape(v)});
    const std::optional<PreparedForm> form = in.op->prepare.form(*in.attrs, types);
    if (!form || form->operand < 0 || form->operand >= static_cast<int>(in.inputs.size()) ||
        form->operand > 127 || form->bytes <= 0) {
      continue;
    }
    const ValueId operand = in.inputs[form->operand];
    const Value& v = p.values[operand];
    if (v.buffer < 0 || written.Touches(v)) continue;
    const FormKey key{v.buffer, v.offset,  v.bytes,        v.shape,    v.dtype,
                      in.op,    form->operand, form->kind, form->bytes};
    auto [it, added] = group_of.try_emplace(key, static_cast<int>(groups.size()));
    if (added) {
      groups.push_back({.operand = operand, .operand_index = form->operand,
                        .form_bytes = form->bytes, .readers = {}});
    }
    groups[it->second].readers.push_back(static_cast<int>(k));
  }
  // A form read once would cost what the kernel's own preparation costs, plus memory.
  int forms = 0, readers = 0;
  for (size_t g = 0; g < groups.size(); ++g) {
    if (groups[g].readers.size() < 2) continue;
    ++forms;
    for (int k : groups[g].readers) group_of_reader[k] = static_cast<int>(g);
    readers += static_cast<int>(groups[g].readers.size());
  }
  if (stats != nullptr) *stats = {.forms = forms, .readers = readers};
  if (forms == 0) return p;
  std::vector<ValueId> copy(groups.size(), -1);
  std::vector<Instruction> out;
  out.reserve(p.instructions.size() + static_cast<size_t>(forms));
  for (size_t k = 0; k < p.instructions.size(); ++k) {
    Instruction in = std::move(p.instructions[k]);
    const int g = group_of_reader[k];
    if (g >= 0) {
      const Group& group = groups[g];
      if (copy[g] < 0) {
        // The first reader: the copy is made right before it, in its region.
        const Value operand = p.values[group.operand];
        const int64_t size = static_cast<int64_t>(SizeOf(operand.dtype));
        const int64_t elements = (group.form_bytes + size - 1) / size;
        const BufferId buffer = p.AddBuffer({.bytes = elements * size});
        copy[g] = p.AddValue(buffer, 0, operand.dtype, Shape{elements});
        Instruction& prepare = out.emplace_back();
        prepare.op = in.op;
        prepare.attrs = in.attrs;
        prepare.inputs = {group.operand};
        prepare.output = copy[g];
        prepare.node = in.node;
        prepare.region = in.region;
        prepare.prepares = static_cast<int8_t>(group.operand_index);
      }
      in.inputs.push_back(copy[g]);
      in.prepared = static_cast<int8_t>(group.operand_index);
    }
    out.push_back(std::move(in));
  }
  p.instructions = std::move(out);
  return p;
}

}  // namespace tg::compile
