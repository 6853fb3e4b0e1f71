/// \file
/// Learning-rate schedules as pure functions of the step (PyTorch's closed forms), so a
/// resumed run needs only its step count: `opt.set_learning_rate(schedule.At(step))`.
#pragma once

#include <cstdint>

namespace tg {

/// torch.optim.lr_scheduler.StepLR: `base_lr * gamma^floor(step / step_size)`.
/// A negative step counts as 0; step_size <= 0 means no decay.
struct StepLr {
  double base_lr = 1e-3;  ///< The rate at step 0.
  int64_t step_size = 1;  ///< Steps between decays.
  double gamma = 0.1;     ///< Factor per decay.
  /// The learning rate at `step`.
  double At(int64_t step) const;
};

/// torch.optim.lr_scheduler.CosineAnnealingLR's closed form:
/// `min_lr + (base_lr - min_lr) * (1 + cos(pi * step / total_steps)) / 2`, held at min_lr
/// from step total_steps on (PyTorch would rise again). A negative step counts as 0.
struct CosineLr {
  double base_lr = 1e-3;    ///< The rate at step 0.
  int64_t total_steps = 1;  ///< Steps to reach min_lr.
  double min_lr = 0;        ///< The rate from total_steps on.
  /// The learning rate at `step`.
  double At(int64_t step) const;
};

}  // namespace tg
