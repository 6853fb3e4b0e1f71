#include "models/optimizers.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <span>

#include "fmt/format.h"

namespace tg {
namespace {

AlignedBuffer ZeroedF64() {
  AlignedBuffer b = AllocateAligned(sizeof(double));
  std::memset(b.get(), 0, sizeof(double));
  return b;
}

// !(v >= lo) also rejects NaN.
absl::Status CheckAtLeast(const char* opt, const char* field, double v, double lo) {
  if (v >= lo) return absl::OkStatus();
  return absl::InvalidArgumentError(fmt::format("{}: {} must be >= {}, got {}", opt, field, lo, v));
}

absl::Status CheckBeta(const char* opt, const char* field, double v) {
  if (v >= 0 && v < 1) return absl::OkStatus();
  return absl::InvalidArgumentError(fmt::format("{}: {} must be in [0, 1), got {}", opt, field, v));
}

// The sgd update on one parameter; the operation order follows torch.optim.SGD so f64
// results match it to the last bits. `first` is true on the parameter's first step.
template <class T>
void SgdUpdate(const SgdOptions& o, const Tensor& value, const Tensor& grad, const Tensor* buf,
               bool first) {
  T* p = value.data<T>();
  const T* g = grad.data<T>();
  T* b = buf ? buf->data<T>() : nullptr;
  const T lr = static_cast<T>(o.learning_rate), wd = static_cast<T>(o.weight_decay);
  const T mom = static_cast<T>(o.momentum), keep = static_cast<T>(1 - o.dampening);
  for (int64_t i = 0, n = value.num_elements(); i < n; ++i) {
    T d = g[i];
    if (o.weight_decay != 0) d = d + wd * p[i];
    if (b) {
      b[i] = first ? d : b[i] * mom + keep * d;
      d = o.nesterov ? d + mom * b[i] : b[i];
    }
    p[i] = p[i] + (-lr) * d;
  }
}

// The Adam/AdamW update on one parameter at step t (>= 1), in torch.optim.Adam's order.
template <class T>
void AdamUpdate(const AdamOptions& o, bool decoupled, double t, const Tensor& value,
                const Tensor& grad, const Tensor& exp_avg, const Tensor& exp_avg_sq) {
  T* p = value.data<T>();
  const T* g = grad.data<T>();
  T* m = exp_avg.data<T>();
  T* v = exp_avg_sq.data<T>();
  // Scalars in double, as PyTorch computes them in Python, then cast to the parameter type.
  const double bias1 = 1 - std::pow(o.beta1, t);
  const double bias2_sqrt = std::sqrt(1 - std::pow(o.beta2, t));
  const T step_size = static_cast<T>(o.learning_rate / bias1);
  const T b1 = static_cast<T>(o.beta1), b2 = static_cast<T>(o.beta2);
  const T one_b1 = static_cast<T>(1 - o.beta1), one_b2 = static_cast<T>(1 - o.beta2);
  const T wd = static_cast<T>(o.weight_decay), eps = static_cast<T>(o.eps);
  const T decay = static_cast<T>(1 - o.learning_rate * o.weight_decay);
  const T bc2 = static_cast<T>(bias2_sqrt);
  for (int64_t i = 0, n = value.num_elements(); i < n; ++i) {
    T gi = g[i];
    if (o.weight_decay != 0) {
      if (decoupled) {
        p[i] = p[i] * decay;
      } else {
        gi = gi + wd * p[i];
      }
    }
    m[i] = m[i] * b1 + one_b1 * gi;
    v[i] = v[i] * b2 + one_b2 * gi * gi;
    T denom = std::sqrt(v[i]) / bc2 + eps;
    p[i] = p[i] + (-step_size) * (m[i] / denom);
  }
}

}  // namespace

// ---- per-parameter state ---------------------------------------------------

namespace internal {

ParamStates::ParamStates(ParameterStore& store, std::vector<std::string> buffer_names,
                         std::string prefix)
    : store_(&store), buffer_names_(std::move(buffer_names)), prefix_(std::move(prefix)),
      num_steps_(ZeroedF64()) {}

std::vector<ParamStates::Slot>& ParamStates::Sync() {
  // The store only appends, so existing slots keep their index.
  std::vector<Parameter> params = store_->parameters();
  for (size_t i = slots_.size(); i < params.size(); ++i) {
    Slot s;
    s.param = params[i].data();
    if (!buffer_names_.empty()) {
      s.step = ZeroedF64();
      for (size_t b = 0; b < buffer_names_.size(); ++b) {
        s.buffers.push_back(AllocateAligned(params[i].value().num_bytes()));
        s.buffer(b).SetZero();
      }
    }
    slots_.push_back(std::move(s));
  }
  return slots_;
}

std::vector<std::pair<std::string, Tensor>> ParamStates::Tensors() {
  std::vector<std::pair<std::string, Tensor>> out;
  out.emplace_back(prefix_ + "step", Tensor(num_steps_.get(), DType::kF64, {1}));
  for (Slot& s : Sync()) {
    if (buffer_names_.empty()) continue;
    for (size_t b = 0; b < buffer_names_.size(); ++b) {
      out.emplace_back(fmt::format("{}{}.{}", prefix_, buffer_names_[b], s.param->name),
                       s.buffer(b));
    }
    out.emplace_back(fmt::format("{}step.{}", prefix_, s.param->name),
                     Tensor(s.step.get(), DType::kF64, {1}));
  }
  return out;
}

}  // namespace internal

// ---- Sgd -------------------------------------------------------------------

Sgd::Sgd(ParameterStore& store, SgdOptions options)
    : options_(options),
      states_(store, options.momentum != 0 ? std::vector<std::string>{"momentum_buffer"}
                                           : std::vector<std::string>{}) {}

absl::StatusOr<Sgd> Sgd::Create(ParameterStore& store, SgdOptions options) {
  absl::Status s = Validate(options);
  if (!s.ok()) return s;
  return Sgd(store, options);
}

absl::Status Sgd::Validate(const SgdOptions& o) {
  for (absl::Status s : {CheckAtLeast("Sgd", "learning_rate", o.learning_rate, 0),
                         CheckBeta("Sgd", "momentum", o.momentum),
                         CheckAtLeast("Sgd", "weight_decay", o.weight_decay, 0)}) {
    if (!s.ok()) return s;
  }
  if (!(o.dampening >= 0 && o.dampening <= 1)) {
    return absl::InvalidArgumentError(
        fmt::format("Sgd: dampening must be in [0, 1], got {}", o.dampening));
  }
  if (o.nesterov && (o.momentum <= 0 || o.dampening != 0)) {
    return absl::InvalidArgumentError(fmt::format(
        "Sgd: nesterov needs momentum > 0 and dampening == 0, got momentum {} and dampening {}",
        o.momentum, o.dampening));
  }
  return absl::OkStatus();
}

absl::Status Sgd::Step() {
  absl::Status valid = Validate(options_);
  if (!valid.ok()) return valid;
  const bool momentum = options_.momentum != 0;
  for (internal::ParamStates::Slot& s : states_.Sync()) {
    if (s.param->frozen) continue;
    Tensor buf;
    bool first = false;
    if (momentum) {
      buf = s.buffer(0);
      first = s.step_count() <= 0;  // from the count, so a loaded buffer is used
      s.step_count() += 1;
    }
    if (s.param->dtype == DType::kF32) {
      SgdUpdate<float>(options_, s.param->value(), s.param->grad(), momentum ? &buf : nullptr,
                       first);
    } else {
      SgdUpdate<double>(options_, s.param->value(), s.param->grad(), momentum ? &buf : nullptr,
                        first);
    }
  }
  states_.num_steps() += 1;
  return absl::OkStatus();
}

std::vector<std::pair<std::string, Tensor>> Sgd::StateTensors() { return states_.Tensors(); }

// ---- Adam / AdamW ----------------------------------------------------------

namespace internal {

AdamBase::AdamBase(ParameterStore& store, AdamOptions options, bool decoupled_weight_decay)
    : options_(options),
      decoupled_(decoupled_weight_decay),
      states_(store, {"exp_avg", "exp_avg_sq"}) {}

absl::Status AdamBase::Validate(const AdamOptions& o, const char* name) {
  for (absl::Status s :
       {CheckAtLeast(name, "learning_rate", o.learning_rate, 0), CheckBeta(name, "beta1", o.beta1),
        CheckBeta(name, "beta2", o.beta2), CheckAtLeast(name, "eps", o.eps, 0),
        CheckAtLeast(name, "weight_decay", o.weight_decay, 0)}) {
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::Status AdamBase::Step() {
  absl::Status valid = Validate(options_, decoupled_ ? "AdamW" : "Adam");
  if (!valid.ok()) return valid;
  for (ParamStates::Slot& s : states_.Sync()) {
    if (s.param->frozen) continue;
    Tensor exp_avg = s.buffer(0), exp_avg_sq = s.buffer(1);
    if (s.step_count() <= 0) {  // no state yet: PyTorch starts from zeros
      s.step_count() = 0;
      exp_avg.SetZero();
      exp_avg_sq.SetZero();
    }
    double t = s.step_count() += 1;
    if (s.param->dtype == DType::kF32) {
      AdamUpdate<float>(options_, decoupled_, t, s.param->value(), s.param->grad(), exp_avg,
                        exp_avg_sq);
    } else {
      AdamUpdate<double>(options_, decoupled_, t, s.param->value(), s.param->grad(), exp_avg,
                         exp_avg_sq);
    }
  }
  states_.num_steps() += 1;
  return absl::OkStatus();
}

std::vector<std::pair<std::string, Tensor>> AdamBase::StateTensors() { return states_.Tensors(); }

}  // namespace internal

Adam::Adam(ParameterStore& store, AdamOptions options) : AdamBase(store, options, false) {}

absl::Status Adam::Validate(const AdamOptions& options) {
  return AdamBase::Validate(options, "Adam");
}

absl::StatusOr<Adam> Adam::Create(ParameterStore& store, AdamOptions options) {
  absl::Status s = Validate(options);
  if (!s.ok()) return s;
  return Adam(store, options);
}

namespace {
AdamOptions AsAdam(const AdamWOptions& o) {
  return {.learning_rate = o.learning_rate,
          .beta1 = o.beta1,
          .beta2 = o.beta2,
          .eps = o.eps,
          .weight_decay = o.weight_decay};
}
}  // namespace

AdamW::AdamW(ParameterStore& store, AdamWOptions options)
    : AdamBase(store, AsAdam(options), true) {}

absl::Status AdamW::Validate(const AdamWOptions& options) {
  return AdamBase::Validate(AsAdam(options), "AdamW");
}

absl::StatusOr<AdamW> AdamW::Create(ParameterStore& store, AdamWOptions options) {
  absl::Status s = Validate(options);
  if (!s.ok()) return s;
  return AdamW(store, options);
}

// ---- clipping --------------------------------------------------------------

namespace {
// Eight running sums rather than one: a single chain waits out every add's latency (a
// large model's norm took longer than its Adam step). The order depends on the length
// alone, so the same gradients give the same norm on every run.
template <class T>
double SumOfSquares(std::span<const T> x) {
  constexpr size_t kLanes = 8;
  std::array<double, kLanes> lanes{};
  size_t i = 0;
  for (; i + kLanes <= x.size(); i += kLanes) {
    for (size_t j = 0; j < kLanes; ++j) {
      const double v = static_cast<double>(x[i + j]);
      lanes[j] += v * v;
    }
  }
  double tail = 0;
  for (; i < x.size(); ++i) tail += static_cast<double>(x[i]) * static_cast<double>(x[i]);
  return ((lanes[0] + lanes[1]) + (lanes[2] + lanes[3])) +
         ((lanes[4] + lanes[5]) + (lanes[6] + lanes[7])) + tail;
}
template <class T>
void Scale(const Tensor& t, double c) {
  const T ct = static_cast<T>(c);
  for (T& x : t.span<T>()) x *= ct;
}
}  // namespace

double ClipGradNorm(ParameterStore& store, double max_norm) {
  std::vector<Parameter> params = store.parameters();
  double sum = 0;
  for (const Parameter& p : params) {
    if (p.frozen()) continue;
    if (p.dtype() == DType::kF32) {
      sum += SumOfSquares<float>(p.grad().span<float>());
    } else {
      sum += SumOfSquares<double>(p.grad().span<double>());
    }
  }
  const double norm = std::sqrt(sum);
  if (!std::isfinite(norm)) return norm;
  max_norm = std::max(max_norm, 0.0);
  if (!(norm > max_norm)) return norm;
  const double coef = max_norm / (norm + 1e-6);
  for (const Parameter& p : params) {
    if (p.frozen()) continue;
    if (p.dtype() == DType::kF32) {
      Scale<float>(p.grad(), coef);
    } else {
      Scale<double>(p.grad(), coef);
    }
  }
  return norm;
}

}  // namespace tg
