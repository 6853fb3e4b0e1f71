#include "models/lr_schedule.h"

#include <algorithm>
#include <cmath>
#include <numbers>

namespace tg {

double StepLr::At(int64_t step) const {
  if (step_size <= 0) return base_lr;
  return base_lr * std::pow(gamma, static_cast<double>(std::max<int64_t>(step, 0) / step_size));
}

double CosineLr::At(int64_t step) const {
  step = std::max<int64_t>(step, 0);
  if (step >= total_steps) return min_lr;
  double progress = static_cast<double>(step) / static_cast<double>(total_steps);
  return min_lr + (base_lr - min_lr) * (1 + std::cos(std::numbers::pi * progress)) / 2;
}

}  // namespace tg
