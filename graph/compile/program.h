/// \file
/// The compiler's working form of a graph: a program over value ids, not addresses. A value
/// is a typed, shaped range of a buffer; a buffer is bytes the memory plan places (or memory
/// outside the program, such as a parameter's gradient). Instructions name the values they
/// read and write, so every pass between the graph and the lowered program (prune, time
/// batching, lifetimes, memory placement) works on this plain structure, and a test can build
/// one by hand.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/inlined_vector.h"
#include "graph/attrs.h"
#include "graph/expr.h"
#include "graph/op_def.h"
#include "graph/tensor.h"

/// The compiler's passes and working form, behind tg::Compile (graph/compile/compiled_graph.h).
/// Public for tests and tools that inspect a compilation; a model needs only tg::Compile.
namespace tg::compile {

/// Index into Program::buffers.
using BufferId = int32_t;
/// Index into Program::values.
using ValueId = int32_t;
/// Index into a table of shapes (Program::shapes, Executable::shapes).
using ShapeId = int32_t;

/// Where a buffer's bytes live.
enum class Storage : uint8_t {
  kPlanned,   ///< The program's own memory: the memory plan gives it an offset.
  kExternal,  ///< Memory outside the program (a parameter, its gradient) at a fixed address.
};

/// Bytes that values lie in.
struct Buffer {
  int64_t bytes = 0;  ///< Its size.
  Storage storage = Storage::kPlanned;  ///< Planned or external.
  std::byte* address = nullptr;  ///< kExternal: its first byte; unused otherwise.
};

/// A typed, shaped, dense range of one buffer: what an instruction reads or writes. Small
/// (its shape is an id into Program::shapes): a long unroll has millions.
struct Value {
  int64_t offset = 0;    ///< Its first byte's distance from the buffer's first byte.
  int64_t bytes = 0;     ///< Its size.
  BufferId buffer = -1;  ///< The buffer it lies in; -1 for a value without elements.
  ShapeId shape = -1;    ///< Its dimensions, in Program::shapes.
  NodeId node = -1;  ///< The graph node whose value it is; -1 for one a pass made.
  DType dtype = DType::kF32;  ///< Element type.
  /// One past its last byte, from the buffer's first byte.
  int64_t end() const { return offset + bytes; }
};

/// Shapes by id, each stored once (an unroll has few distinct shapes).
class ShapeTable {
 public:
  /// The id of `s`, added if new.
  ShapeId Intern(const Shape& s) {
    auto [it, inserted] = ids_.try_emplace(Key(s), static_cast<ShapeId>(shapes_.size()));
    if (inserted) shapes_.push_back(s);
    return it->second;
  }
  /// Shape `id`.
  const Shape& operator[](ShapeId id) const { return shapes_[id]; }
  /// All shapes, by id.
  const std::vector<Shape>& shapes() const { return shapes_; }

 private:
  using ShapeKey = std::array<int64_t, Shape::kMaxRank + 1>;  // the dims, then the rank
  static ShapeKey Key(const Shape& s) {
    ShapeKey key{};
    for (int d = 0; d < s.rank(); ++d) key[d] = s[d];
    key[Shape::kMaxRank] = s.requested_rank();
    return key;
  }
  std::vector<Shape> shapes_;
  absl::flat_hash_map<ShapeKey, ShapeId> ids_;
};

/// One kernel call: `op` applied to the input values, its result written to (or, with
/// `accumulate`, added into) the output value.
struct Instruction {
  const OpDef* op = nullptr;  ///< The op whose kernel runs.
  /// The node's attributes: the graph's own (valid while it lives), or a test's.
  const Attrs* attrs = nullptr;
  absl::InlinedVector<ValueId, 3> inputs;  ///< Operands, in the op's order.
  ValueId output = -1;  ///< The result.
  bool accumulate = false;  ///< output += result.
  NodeId node = -1;  ///< The node it came from (the first one's place, when stacked).
  int stacked = 1;  ///< How many nodes' work it does (time batching).
  /// >= 0: instead of the kernel it runs the op's OperandPreparation::prepare for its operand
  /// `prepares`: the one input is that operand, the output its prepared form
  /// (graph/compile/prepare_operands.h).
  int8_t prepares = -1;
  /// >= 0: the last input is the prepared form of operand `prepared`, which the kernel gets as
  /// KernelContext::prepared (and not among its inputs).
  int8_t prepared = -1;
  /// Time batching stacks only instructions of one region (graph/compile/recompute.h cuts the
  /// program into regions at the checkpoints; 0 throughout otherwise).
  int32_t region = 0;
};

/// A leaf whose recorded bytes the program keeps: a constant, or an input not fed.
struct Constant {
  ValueId value = -1;  ///< The value they fill.
  const std::byte* bytes = nullptr;  ///< Value::bytes bytes, valid while the graph lives.
};

/// A program over value ids (see graph/compile/program.h).
struct Program {
  std::vector<Buffer> buffers;  ///< Indexed by BufferId.
  std::vector<Value> values;  ///< Indexed by ValueId.
  std::vector<Instruction> instructions;  ///< In execution order.
  std::vector<ValueId> feeds;  ///< Values the host writes before each run, in order.
  std::vector<ValueId> outputs;  ///< Values the host reads after each run, in order.
  std::vector<Constant> constants;  ///< Values whose recorded bytes the program keeps.
  ShapeTable shapes;  ///< The values' shapes.
  std::vector<ValueId> checkpoints;  ///< Values marked as checkpoints (Graph::MarkCheckpoint).
  /// Where segments end (Graph::checkpoint_ends): nodes, ascending.
  std::vector<NodeId> checkpoint_ends;
  /// Instructions of nodes from this one on are the backward's (Graph::backward_start); the
  /// ones before, the forward's.
  NodeId backward_start = std::numeric_limits<NodeId>::max();

  /// Appends a buffer; returns its id.
  BufferId AddBuffer(Buffer b) {
    buffers.push_back(b);
    return static_cast<BufferId>(buffers.size() - 1);
  }
  /// Appends a value of `dtype` and `shape` at `offset` bytes into buffer `buffer` (-1: none);
  /// returns its id.
  ValueId AddValue(BufferId buffer, int64_t offset, DType dtype, const Shape& shape,
                   NodeId node = -1) {
    values.push_back({.offset = offset,
                      .bytes = shape.num_elements() * static_cast<int64_t>(SizeOf(dtype)),
                      .buffer = buffer,
                      .shape = shapes.Intern(shape),
                      .node = node,
                      .dtype = dtype});
    return static_cast<ValueId>(values.size() - 1);
  }
  /// Value v's shape.
  const Shape& shape(ValueId v) const { return shapes[values[v].shape]; }
  /// Whether values a and b share a byte.
  bool Overlap(ValueId a, ValueId b) const {
    const Value &x = values[a], &y = values[b];
    return x.buffer >= 0 && x.buffer == y.buffer && x.offset < y.end() && y.offset < x.end();
  }
};

}  // namespace tg::compile
