#include "graph/op_registry.h"

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "fmt/format.h"

namespace tg {
namespace {

struct Registry {
  absl::Mutex mu;
  std::vector<const OpDef*> ops;
  absl::flat_hash_map<std::string_view, const OpDef*> by_name;
};

// Function-local so registration from static initialisers in any order is safe.
Registry& GetRegistry() {
  static Registry* registry = new Registry;
  return *registry;
}

}  // namespace

absl::Status ValidateOpDef(const OpDef& op) {
  if (op.name.empty()) return absl::InvalidArgumentError("RegisterOp: op has no name");
  for (char c : op.name) {
    // Node paths ("step_3/lstm/matmul") and quoted labels would be ambiguous otherwise.
    if (c == '/' || c == '"' || static_cast<unsigned char>(c) <= ' ') {
      return absl::InvalidArgumentError(fmt::format(
          "RegisterOp: op name '{}' contains '/', '\"', a space or a control character", op.name));
    }
  }
  if (op.is_leaf) {
    return absl::InvalidArgumentError(fmt::format(
        "RegisterOp: op '{}' is a leaf; leaves come from Graph::Input, Constant, Fill and Param",
        op.name));
  }
  if (op.infer == nullptr || (op.forward == nullptr && op.view == nullptr)) {
    return absl::InvalidArgumentError(
        fmt::format("RegisterOp: op '{}' needs an infer function and a forward kernel", op.name));
  }
  if (op.arity < -1) {
    return absl::InvalidArgumentError(fmt::format(
        "RegisterOp: op '{}' has arity {}; give the number of inputs, or -1 for one or more",
        op.name, op.arity));
  }
  if (op.arity >= 0 && op.arity < 32 && (op.no_grad_inputs >> op.arity) != 0) {
    return absl::InvalidArgumentError(fmt::format(
        "RegisterOp: op '{}' marks inputs at or past its arity {} in no_grad_inputs (0x{:x})",
        op.name, op.arity, op.no_grad_inputs));
  }
  if (op.seed_attr < -1) {
    return absl::InvalidArgumentError(fmt::format(
        "RegisterOp: op '{}' has seed_attr {}; give an index into attrs.ints, or -1", op.name,
        op.seed_attr));
  }
  if (op.pointwise.f64 != nullptr && op.pointwise.f32 == nullptr) {
    return absl::InvalidArgumentError(fmt::format(
        "RegisterOp: op '{}' has an f64 pointwise tile but no f32 one", op.name));
  }
  if ((op.prepare.form == nullptr) != (op.prepare.prepare == nullptr)) {
    return absl::InvalidArgumentError(fmt::format(
        "RegisterOp: op '{}' declares prepare.{} without prepare.{}; a prepared operand needs "
        "both (OperandPreparation)",
        op.name, op.prepare.form != nullptr ? "form" : "prepare",
        op.prepare.form != nullptr ? "prepare" : "form"));
  }
  if (op.differentiable && op.vjp == nullptr) {
    return absl::InvalidArgumentError(fmt::format(
        "RegisterOp: op '{}' has no vjp; give it one, or set .differentiable = false if no "
        "gradient flows through it",
        op.name));
  }
  if (!op.differentiable && op.vjp != nullptr) {
    return absl::InvalidArgumentError(fmt::format(
        "RegisterOp: op '{}' declares .differentiable = false but has a vjp", op.name));
  }
  return absl::OkStatus();
}

absl::Status RegisterOp(const OpDef& op) {
  if (absl::Status s = ValidateOpDef(op); !s.ok()) return s;
  Registry& r = GetRegistry();
  absl::MutexLock lock(&r.mu);
  auto [it, inserted] = r.by_name.emplace(op.name, &op);
  if (!inserted) {
    if (it->second == &op) return absl::OkStatus();  // registering the same def twice is harmless
    return absl::AlreadyExistsError(fmt::format(
        "RegisterOp: an op named '{}' is already registered (another OpDef); give this one "
        "another name",
        op.name));
  }
  r.ops.push_back(&op);
  return absl::OkStatus();
}

absl::StatusOr<const OpDef*> FindOp(std::string_view name) {
  Registry& r = GetRegistry();
  absl::MutexLock lock(&r.mu);
  auto it = r.by_name.find(name);
  if (it == r.by_name.end()) {
    return absl::NotFoundError(fmt::format("no op named '{}' is registered", name));
  }
  return it->second;
}

std::vector<const OpDef*> RegisteredOps() {
  Registry& r = GetRegistry();
  absl::MutexLock lock(&r.mu);
  return r.ops;
}

}  // namespace tg
