// Tiny programs built by hand for the pass tests: buffers, values and instructions by id,
// applying the built-in ops' definitions (the compiler sees only OpDefs).
#pragma once

#include <deque>
#include <string_view>
#include <vector>

#include "graph/compile/program.h"
#include "graph/op_registry.h"
#include "gtest/gtest.h"
#include "ops/registry.h"

namespace tg::compile::testing {

// The registered op `name`, or null with a test failure.
inline const OpDef* Op(std::string_view name) {
  EXPECT_TRUE(RegisterBuiltinOps().ok());
  absl::StatusOr<const OpDef*> op = FindOp(name);
  EXPECT_TRUE(op.ok()) << op.status();
  return op.ok() ? *op : nullptr;
}

// Attributes of a matmul: {transpose_a, transpose_b}.
inline Attrs MatMulFlags(bool transpose_a, bool transpose_b) {
  Attrs a;
  a.ints = {transpose_a ? 1 : 0, transpose_b ? 1 : 0};
  return a;
}

// Builds a Program; every value is f64 unless said otherwise.
class HandBuilt {
 public:
  BufferId Buffer(int64_t bytes, Storage storage = Storage::kPlanned,
                  std::byte* address = nullptr) {
    return program.AddBuffer({.bytes = bytes, .storage = storage, .address = address});
  }
  // A value at `offset` bytes into buffer b.
  ValueId At(BufferId b, Shape shape, int64_t offset = 0, DType dtype = DType::kF64) {
    return program.AddValue(b, offset, dtype, shape);
  }
  // A value in a buffer of its own.
  ValueId Fresh(Shape shape, DType dtype = DType::kF64) {
    const int64_t bytes = shape.num_elements() * static_cast<int64_t>(SizeOf(dtype));
    return At(Buffer(bytes), shape, 0, dtype);
  }
  // Appends `op` applied to `inputs` into `output`; returns the instruction's index, which is
  // also its node id.
  int Apply(std::string_view op, std::vector<ValueId> inputs, ValueId output, Attrs attrs = {},
            bool accumulate = false) {
    Instruction in;
    in.op = Op(op);
    in.attrs = &attrs_.emplace_back(std::move(attrs));
    in.inputs.assign(inputs.begin(), inputs.end());
    in.output = output;
    in.accumulate = accumulate;
    in.node = static_cast<NodeId>(program.instructions.size());
    program.values[output].node = in.node;  // as a graph's node makes its value
    program.instructions.push_back(std::move(in));
    return static_cast<int>(program.instructions.size()) - 1;
  }

  Program program;

 private:
  std::deque<Attrs> attrs_;  // what the instructions point at
};

}  // namespace tg::compile::testing
