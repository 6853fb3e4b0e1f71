#include "models/weight_average.h"

#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "fmt/format.h"

namespace tg {
namespace {

template <class T>
void Fold(const Tensor& value, const Tensor& average, double keep) {
  const T* v = value.data<T>();
  T* a = average.data<T>();
  const T rate = static_cast<T>(1 - keep);
  for (int64_t i = 0, n = value.num_elements(); i < n; ++i) a[i] += rate * (v[i] - a[i]);
}

}  // namespace

WeightAverage::WeightAverage(ParameterStore& store, Optimizer& inner, WeightAverageOptions options)
    : inner_(&inner), options_(options), states_(store, {"value"}, "optimizer.average.") {}

absl::Status WeightAverage::Validate(const WeightAverageOptions& o) {
  if (o.decay >= 0 && o.decay < 1) return absl::OkStatus();
  return absl::InvalidArgumentError(
      fmt::format("WeightAverage: decay must be in [0, 1), got {}", o.decay));
}

absl::Status WeightAverage::Step() {
  if (absl::Status s = Validate(options_); !s.ok()) return s;
  if (swapped_) {
    return absl::FailedPreconditionError(
        "WeightAverage: Step() while the average is swapped in (Swap() back first)");
  }
  if (absl::Status s = inner_->Step(); !s.ok()) return s;
  for (internal::ParamStates::Slot& s : states_.Sync()) {
    if (s.param->frozen) continue;
    const Tensor value = s.param->value(), average = s.buffer(0);
    const double t = s.step_count() = std::max(s.step_count(), 0.0) + 1;
    if (t == 1) {
      if (absl::Status c = average.CopyFrom(value); !c.ok()) return c;
      continue;
    }
    const double keep = std::min(options_.decay, (1 + t) / (10 + t));
    if (s.param->dtype == DType::kF32) {
      Fold<float>(value, average, keep);
    } else {
      Fold<double>(value, average, keep);
    }
  }
  states_.num_steps() += 1;
  return absl::OkStatus();
}

std::vector<std::pair<std::string, Tensor>> WeightAverage::StateTensors() {
  std::vector<std::pair<std::string, Tensor>> out = inner_->StateTensors();
  for (auto& named : states_.Tensors()) out.push_back(std::move(named));
  return out;
}

void WeightAverage::Swap() {
  for (internal::ParamStates::Slot& s : states_.Sync()) {
    if (s.step_count() <= 0) continue;
    auto* value = static_cast<std::byte*>(s.param->value().raw());
    auto* average = static_cast<std::byte*>(s.buffer(0).raw());
    std::swap_ranges(value, value + s.param->value().num_bytes(), average);
  }
  swapped_ = !swapped_;
}

}  // namespace tg
