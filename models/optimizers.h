/// \file
/// Sgd, Adam and AdamW with torch.optim's update rules (PyTorch 1.13, single-tensor path),
/// and global-norm gradient clipping (torch.nn.utils.clip_grad_norm_).
///
/// \code{.cpp}
///   Adam adam(store, {.learning_rate = 2e-3});
///   for (...) { Backward(loss); ClipGradNorm(store, 1.0); adam.Step(); store.ZeroGrad(); }
/// \endcode
///
/// An optimizer keeps a pointer to the store, which must outlive it and stay where it is.
/// Parameters added to the store later are picked up by the next Step; frozen ones are
/// skipped (value and state untouched). The update runs in each parameter's dtype.
///
/// Bad options: Create() returns InvalidArgument naming the option; the plain constructor
/// accepts anything and Step() returns that same error (changing nothing), which also catches
/// a bad set_learning_rate().
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "graph/parameter.h"
#include "graph/tensor.h"
#include "models/optimizer.h"

namespace tg {

/// Options of Sgd.
struct SgdOptions {
  double learning_rate = 1e-2;  ///< >= 0.
  double momentum = 0;          ///< In [0, 1).
  bool nesterov = false;        ///< Needs momentum > 0 and dampening == 0.
  double weight_decay = 0;      ///< >= 0; L2, added to the gradient.
  double dampening = 0;         ///< In [0, 1].
};

/// Options of Adam.
struct AdamOptions {
  double learning_rate = 1e-3;        ///< >= 0.
  /// \var beta1
  /// Decay rate of the gradient's running average, in [0, 1).
  /// \var beta2
  /// Decay rate of the squared gradient's running average, in [0, 1).
  double beta1 = 0.9, beta2 = 0.999;
  double eps = 1e-8;                  ///< >= 0; added to the denominator.
  double weight_decay = 0;            ///< >= 0; L2 added to the gradient, as torch.optim.Adam.
};

/// Options of AdamW (valid ranges as for Adam).
struct AdamWOptions {
  double learning_rate = 1e-3;  ///< >= 0.
  /// \var beta1
  /// Decay rate of the gradient's running average, in [0, 1).
  /// \var beta2
  /// Decay rate of the squared gradient's running average, in [0, 1).
  double beta1 = 0.9, beta2 = 0.999;
  double eps = 1e-8;  ///< >= 0; added to the denominator.
  double weight_decay = 1e-2;  ///< Decoupled: `p *= 1 - lr * weight_decay` before the Adam step.
};

/// \cond INTERNAL
namespace internal {

// Per-parameter state, one slot per store parameter in creation order; grows as parameters
// are added. A slot holds its own step count ("optimizer.step.<name>", PyTorch's per-param
// state['step']), which decides whether state exists (step 0: none yet), plus named buffers
// shaped and typed like the parameter. With no buffer names there is no per-param state.
// Tensor names start with `prefix` ("optimizer." for an optimizer's own state).
class ParamStates {
 public:
  struct Slot {
    ParamData* param = nullptr;
    AlignedBuffer step;                  // one f64
    std::vector<AlignedBuffer> buffers;  // one per buffer name
    double& step_count() const { return *reinterpret_cast<double*>(step.get()); }
    Tensor buffer(size_t i) const { return Tensor(buffers[i].get(), param->dtype, param->shape); }
  };

  ParamStates(ParameterStore& store, std::vector<std::string> buffer_names,
              std::string prefix = "optimizer.");

  // Creates zeroed slots for parameters added since the last call; returns all slots.
  std::vector<Slot>& Sync();
  // Number of Step() calls ("optimizer.step").
  double& num_steps() const { return *reinterpret_cast<double*>(num_steps_.get()); }
  // "optimizer.step", then per parameter "optimizer.<buffer>.<name>"..., "optimizer.step.<name>"
  // (with "optimizer." replaced by the prefix).
  std::vector<std::pair<std::string, Tensor>> Tensors();

 private:
  ParameterStore* store_;
  std::vector<std::string> buffer_names_;
  std::string prefix_;
  AlignedBuffer num_steps_;
  std::vector<Slot> slots_;
};

}  // namespace internal
/// \endcond

/// torch.optim.SGD: `d = g + wd*p`; with momentum, `buf = d` on a parameter's first step,
/// else `buf = momentum*buf + (1-dampening)*d`; `d = nesterov ? d + momentum*buf : buf`;
/// `p -= lr*d`. State: "optimizer.step", and with momentum
/// `optimizer.momentum_buffer.<name>`.
class Sgd : public Optimizer {
 public:
  /// Keeps a pointer to `store`; bad options make every Step fail.
  Sgd(ParameterStore& store, SgdOptions options = {});
  /// InvalidArgument naming the bad option.
  static absl::StatusOr<Sgd> Create(ParameterStore& store, SgdOptions options = {});
  /// OK, or InvalidArgument naming the bad option.
  static absl::Status Validate(const SgdOptions& options);

  absl::Status Step() override;
  double learning_rate() const override { return options_.learning_rate; }
  void set_learning_rate(double lr) override { options_.learning_rate = lr; }
  std::vector<std::pair<std::string, Tensor>> StateTensors() override;
  /// The options, with the current learning rate.
  const SgdOptions& options() const { return options_; }

 private:
  SgdOptions options_;
  internal::ParamStates states_;
};

namespace internal {
/// Adam and AdamW share one implementation; only weight decay differs. Use those.
class AdamBase : public Optimizer {
 public:
  absl::Status Step() override;
  double learning_rate() const override { return options_.learning_rate; }
  void set_learning_rate(double lr) override { options_.learning_rate = lr; }
  /// Adam's state as named tensors. Names: "optimizer.step", then per parameter
  /// `optimizer.exp_avg.<name>`, `optimizer.exp_avg_sq.<name>`, `optimizer.step.<name>`.
  std::vector<std::pair<std::string, Tensor>> StateTensors() override;

 protected:
  /// Keeps a pointer to `store`; `decoupled_weight_decay`: AdamW's decay, else Adam's L2.
  AdamBase(ParameterStore& store, AdamOptions options, bool decoupled_weight_decay);
  /// OK, or InvalidArgument naming `name` and the bad option.
  static absl::Status Validate(const AdamOptions& options, const char* name);

 private:
  AdamOptions options_;
  bool decoupled_;
  ParamStates states_;
};
}  // namespace internal

/// torch.optim.Adam (amsgrad off): `g += wd*p; m = b1*m + (1-b1)*g; v = b2*v + (1-b2)*g*g;`
/// `p -= lr/(1-b1^t) * m / (sqrt(v)/sqrt(1-b2^t) + eps)`, t counting from 1 per parameter.
class Adam : public internal::AdamBase {
 public:
  /// Keeps a pointer to `store`; bad options make every Step fail.
  Adam(ParameterStore& store, AdamOptions options = {});
  /// InvalidArgument naming the bad option.
  static absl::StatusOr<Adam> Create(ParameterStore& store, AdamOptions options = {});
  /// OK, or InvalidArgument naming the bad option.
  static absl::Status Validate(const AdamOptions& options);
};

/// torch.optim.AdamW: `p *= 1 - lr*wd`, then the Adam step without L2 on the gradient.
class AdamW : public internal::AdamBase {
 public:
  /// Keeps a pointer to `store`; bad options make every Step fail.
  AdamW(ParameterStore& store, AdamWOptions options = {});
  /// InvalidArgument naming the bad option.
  static absl::StatusOr<AdamW> Create(ParameterStore& store, AdamWOptions options = {});
  /// OK, or InvalidArgument naming the bad option.
  static absl::Status Validate(const AdamWOptions& options);
};

/// Scales every non-frozen gradient by max_norm / (norm + 1e-6) when the global L2 norm over
/// them exceeds max_norm (accumulated in double, in store order); returns the norm before
/// clipping. A NaN/Inf norm is returned with the gradients left unchanged (PyTorch would
/// multiply them by NaN). A negative max_norm acts as 0.
double ClipGradNorm(ParameterStore& store, double max_norm);

}  // namespace tg
