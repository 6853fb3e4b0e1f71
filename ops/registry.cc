#include "ops/registry.h"

#include "graph/op_registry.h"

namespace tg {

std::vector<const OpDef*> BuiltinOps() {
  std::vector<const OpDef*> all;
  for (auto family : {PointwiseOps, MatMulOps, ReduceOps, SoftmaxOps, ShapeOps, NnOps, NormalizeOps}) {
    for (const OpDef* op : family()) all.push_back(op);
  }
  return all;
}

absl::Status RegisterBuiltinOps() {
  for (const OpDef* op : BuiltinOps()) {
    if (absl::Status s = RegisterOp(*op); !s.ok()) return s;
  }
  return absl::OkStatus();
}

}  // namespace tg
