/// \file
/// The compiler's working form of a graph: one instruction per node that runs a kernel
/// (leaves and views run none), over tensors that still point at the recorded memory until
/// the memory plan moves them.
#pragma once

#include <vector>

#include "absl/container/inlined_vector.h"
#include "graph/attrs.h"
#include "graph/expr.h"
#include "graph/op_def.h"
#include "graph/tensor.h"

/// The compiler's passes and working form, behind tg::Compile (graph/compile/compiled_graph.h).
/// Public for tests and tools that inspect a compilation; a model needs only tg::Compile.
namespace tg::compile {

/// An instruction runs `op`'s kernel; with `fused` set it instead runs the tile functions of
/// those pointwise instructions chunk by chunk (fuse_pointwise.h); with neither it zeroes
/// its output's bytes.
struct Instruction {
  const OpDef* op = nullptr;  ///< The op whose kernel runs; null for a fused run or a zeroing.
  Attrs attrs;  ///< The node's attributes.
  absl::InlinedVector<Tensor, 3> inputs;  ///< Operand tensors.
  Tensor output;  ///< Result tensor.
  bool accumulate = false;  ///< output += result.
  NodeId node = -1;         ///< The node it came from (the first one, when stacked).
  int stacked = 1;          ///< How many nodes' work it does.
  std::vector<Instruction> fused;  ///< The members of a fused pointwise run, in order.
};

/// Instructions in execution order.
using Program = std::vector<Instruction>;

}  // namespace tg::compile
