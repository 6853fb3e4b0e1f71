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

absl::Status RegisterOp(const OpDef& op) {
  if (op.name.empty()) return absl::InvalidArgumentError("RegisterOp: op has no name");
  if (op.infer == nullptr || (op.forward == nullptr && op.view == nullptr && !op.is_leaf)) {
    return absl::InvalidArgumentError(
        fmt::format("RegisterOp: op '{}' needs an infer function and a forward kernel", op.name));
  }
  if (!op.is_leaf && op.differentiable && op.vjp == nullptr) {
    return absl::InvalidArgumentError(fmt::format(
        "RegisterOp: op '{}' has no vjp; give it one, or set .differentiable = false if no "
        "gradient flows through it",
        op.name));
  }
  if (!op.differentiable && op.vjp != nullptr) {
    return absl::InvalidArgumentError(fmt::format(
        "RegisterOp: op '{}' declares .differentiable = false but has a vjp", op.name));
  }
  Registry& r = GetRegistry();
  absl::MutexLock lock(&r.mu);
  auto [it, inserted] = r.by_name.emplace(op.name, &op);
  if (!inserted) {
    if (it->second == &op) return absl::OkStatus();  // registering the same def twice is harmless
    return absl::AlreadyExistsError(
        fmt::format("RegisterOp: an op named '{}' is already registered", op.name));
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
