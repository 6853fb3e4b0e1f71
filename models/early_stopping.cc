#include "models/early_stopping.h"

#include <cmath>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"

namespace tg {

bool EarlyStopping::Observe(int64_t step, double score, const ParameterStore& store) {
  ++evaluations_;
  const bool better = std::isfinite(score) &&
                      (best_step_ < 0 || score < best_score_ - options_.min_delta);
  if (!better) {
    ++since_best_;
    return false;
  }
  best_step_ = step;
  best_score_ = score;
  since_best_ = 0;
  best_values_.clear();
  for (const Parameter& p : store.parameters()) {
    absl::StatusOr<std::vector<double>> values = store.Get(p.name());
    if (values.ok()) best_values_.emplace_back(p.name(), std::move(*values));
  }
  return true;
}

absl::Status EarlyStopping::Restore(ParameterStore& store) const {
  if (best_step_ < 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        "early stopping: no finite validation score in ", evaluations_, " evaluations"));
  }
  for (const auto& [name, values] : best_values_) {
    if (absl::Status s = store.Set(name, values); !s.ok()) return s;
  }
  return absl::OkStatus();
}

}  // namespace tg
