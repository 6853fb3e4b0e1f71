// Node: one recorded op application on the tape.
#pragma once

#include "absl/container/inlined_vector.h"
#include "graph/attrs.h"
#include "graph/expr.h"
#include "graph/op_def.h"

namespace tg {

struct ParamData;

struct Node {
  const OpDef* op = nullptr;
  absl::InlinedVector<NodeId, 3> inputs;
  Attrs attrs;
  TensorType type;
  Tensor value;               // output buffer (owned by the graph's arena, or a view)
  int32_t scope = 0;          // index into the graph's scope paths
  ParamData* param = nullptr;  // set for parameter leaves
  bool requires_grad = false;  // some differentiable path leads here from a parameter/input
  bool poisoned = false;       // this node or an input failed; it has no value
  bool ran = false;            // the kernel has run (or the leaf/view value is set)
  bool accumulate = false;     // the kernel adds into `value` instead of overwriting it
};

}  // namespace tg
