/// \file
/// Node: one recorded op application on the tape.
#pragma once

#include "absl/container/inlined_vector.h"
#include "graph/attrs.h"
#include "graph/expr.h"
#include "graph/op_def.h"

namespace tg {

struct ParamData;

/// One recorded op application on the tape (Graph::node).
struct Node {
  const OpDef* op = nullptr;  ///< What it applies.
  absl::InlinedVector<NodeId, 3> inputs;  ///< The nodes it reads, in operand order.
  Attrs attrs;  ///< The op's attributes.
  TensorType type;  ///< The inferred output type.
  Tensor value;               ///< Output buffer (owned by the graph's arena, or a view).
  int32_t scope = 0;          ///< Index into the graph's scope paths.
  ParamData* param = nullptr;  ///< Set for parameter leaves.
  bool requires_grad = false;  ///< Some differentiable path leads here from a parameter/input.
  bool poisoned = false;       ///< This node or an input failed; it has no value.
  bool ran = false;            ///< The kernel has run (or the leaf/view value is set).
  bool accumulate = false;     ///< The kernel adds into `value` instead of overwriting it.
};

}  // namespace tg
