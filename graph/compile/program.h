/// \file
/// The compiler's working form of a graph: a program over value ids, not addresses. A value
/// is a typed, shaped range of a buffer; a buffer is bytes the memory plan places (or memory
/// outside the program, such as a parameter's gradient). Instructions name the values they
/// read and write, so every pass between the graph and the lowered program (prune, time
/// batching, lifetimes, memory placement) works on this plain structure, and a test can build
/// one by hand.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

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

/// A typed, shaped, dense range of one buffer: what an instruction reads or writes.
struct Value {
  BufferId buffer = -1;  ///< The buffer it lies in; -1 for a value without elements.
  int64_t offset = 0;    ///< Its first byte's distance from the buffer's first byte.
  DType dtype = DType::kF32;  ///< Element type.
  Shape shape;  ///< Dimensions.
  NodeId node = -1;  ///< The graph node whose value it is; -1 for one a pass made.
  /// Its size in bytes.
  int64_t bytes() const { return shape.num_elements() * static_cast<int64_t>(SizeOf(dtype)); }
  /// One past its last byte, from the buffer's first byte.
  int64_t end() const { return offset + bytes(); }
};

/// One kernel call: `op` applied to the input values, its result written to (or, with
/// `accumulate`, added into) the output value.
struct Instruction {
  const OpDef* op = nullptr;  ///< The op whose kernel runs.
  Attrs attrs;  ///< The node's attributes.
  absl::InlinedVector<ValueId, 3> inputs;  ///< Operands, in the op's order.
  ValueId output = -1;  ///< The result.
  bool accumulate = false;  ///< output += result.
  NodeId node = -1;  ///< The node it came from (the first one's place, when stacked).
  int stacked = 1;  ///< How many nodes' work it does (time batching).
};

/// A leaf whose recorded bytes the program keeps: a constant, or an input not fed.
struct Constant {
  ValueId value = -1;  ///< The value they fill.
  const std::byte* bytes = nullptr;  ///< value.bytes() bytes, valid while the graph lives.
};

/// A program over value ids (see graph/compile/program.h).
struct Program {
  std::vector<Buffer> buffers;  ///< Indexed by BufferId.
  std::vector<Value> values;  ///< Indexed by ValueId.
  std::vector<Instruction> instructions;  ///< In execution order.
  std::vector<ValueId> feeds;  ///< Values the host writes before each run, in order.
  std::vector<ValueId> outputs;  ///< Values the host reads after each run, in order.
  std::vector<Constant> constants;  ///< Values whose recorded bytes the program keeps.

  /// Appends a buffer; returns its id.
  BufferId AddBuffer(Buffer b) {
    buffers.push_back(b);
    return static_cast<BufferId>(buffers.size() - 1);
  }
  /// Appends a value; returns its id.
  ValueId AddValue(Value v) {
    values.push_back(std::move(v));
    return static_cast<ValueId>(values.size() - 1);
  }
  /// Whether values a and b share a byte.
  bool Overlap(ValueId a, ValueId b) const {
    const Value &x = values[a], &y = values[b];
    return x.buffer >= 0 && x.buffer == y.buffer && x.offset < y.end() && y.offset < x.end();
  }
};

}  // namespace tg::compile
