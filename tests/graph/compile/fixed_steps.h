// Lowered steps over fixed addresses (the tensors' own memory), so fused runs need no
// context: for the fusion tests that run steps directly.
#pragma once

#include <cstdint>
#include <vector>

#include "graph/compile/fuse_pointwise.h"
#include "graph/tensor.h"

namespace tg::compile::testing {

// The shapes the steps refer to, as an Executable holds them.
inline ShapeTable& Shapes() {
  static ShapeTable* shapes = new ShapeTable;
  return *shapes;
}

// Tensor t's memory as a fixed operand.
inline Operand At(const Tensor& t) {
  return {.offset = static_cast<int64_t>(reinterpret_cast<uintptr_t>(t.raw())),
          .bytes = static_cast<int64_t>(t.num_bytes()),
          .shape = Shapes().Intern(t.shape()),
          .space = Space::kFixed,
          .dtype = t.dtype()};
}

// One step of op over fixed tensors; its attributes are the first of the test's table.
inline Step Apply(const OpDef* op, std::vector<Tensor> inputs, Tensor output) {
  Step s;
  s.op = op;
  s.attrs = 0;
  for (const Tensor& t : inputs) s.inputs.push_back(At(t));
  s.output = At(output);
  return s;
}

// Bases of fixed operands: only the shapes table.
inline Bases Fixed() { return {.shapes = Shapes().shapes().data()}; }

}  // namespace tg::compile::testing
