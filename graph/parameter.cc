#include "graph/parameter.h"

#include <cmath>
#include <vector>

#include "absl/strings/string_view.h"
#include "fmt/format.h"

namespace tg {
namespace {

// Rows of a [rows, cols] matrix made orthonormal by modified Gram–Schmidt on a normal draw
// (on the columns when rows > cols), so W W^T = I or W^T W = I.
std::vector<double> OrthogonalValues(int64_t rows, int64_t cols, double gain, Rng& rng) {
  bool transpose = rows > cols;
  int64_t r = transpose ? cols : rows, c = transpose ? rows : cols;  // r <= c
  std::vector<double> m(r * c);
  for (double& v : m) v = rng.Normal();
  for (int64_t i = 0; i < r; ++i) {
    double* vi = &m[i * c];
    for (int64_t j = 0; j < i; ++j) {
      const double* vj = &m[j * c];
      double dot = 0;
      for (int64_t k = 0; k < c; ++k) dot += vi[k] * vj[k];
      for (int64_t k = 0; k < c; ++k) vi[k] -= dot * vj[k];
    }
    double norm = 0;
    for (int64_t k = 0; k < c; ++k) norm += vi[k] * vi[k];
    norm = std::sqrt(norm);
    for (int64_t k = 0; k < c; ++k) vi[k] /= norm;
  }
  std::vector<double> out(rows * cols);
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < cols; ++j)
      out[i * cols + j] = gain * (transpose ? m[j * c + i] : m[i * c + j]);
  return out;
}

// The map's heterogeneous lookup takes absl::string_view, which Debian's Abseil keeps apart
// from std::string_view.
absl::string_view AbslView(std::string_view s) { return absl::string_view(s.data(), s.size()); }

// Writes `values` into `t` (f32 or f64), converting each element.
template <class From>
void WriteConverted(const Tensor& t, absl::Span<const From> values) {
  if (t.dtype() == DType::kF32) {
    float* out = t.data<float>();
    for (size_t i = 0; i < values.size(); ++i) out[i] = static_cast<float>(values[i]);
  } else {
    double* out = t.data<double>();
    for (size_t i = 0; i < values.size(); ++i) out[i] = static_cast<double>(values[i]);
  }
}

template <class From>
absl::Status SetValues(const absl::flat_hash_map<std::string, ParamData*>& by_name,
                       std::string_view name, absl::Span<const From> values) {
  auto it = by_name.find(AbslView(name));
  if (it == by_name.end()) return absl::NotFoundError(fmt::format("no parameter '{}'", name));
  const ParamData& p = *it->second;
  const int64_t n = p.shape.num_elements();
  if (static_cast<int64_t>(values.size()) != n) {
    return absl::InvalidArgumentError(
        fmt::format("parameter '{}' has shape {} ({} elements), but {} values were given",
                    name, p.shape, n, values.size()));
  }
  WriteConverted(p.value(), values);
  return absl::OkStatus();
}

}  // namespace

absl::Status Initialize(const Tensor& t, const Init& init, Rng& rng) {
  const Shape& s = t.shape();
  int64_t n = t.num_elements();
  std::vector<double> values(n, 0.0);
  switch (init.kind) {
    case Init::Kind::kZeros: break;
    case Init::Kind::kConstant:
      for (double& v : values) v = init.a;
      break;
    case Init::Kind::kUniform:
      for (double& v : values) v = rng.Uniform(init.a, init.b);
      break;
    case Init::Kind::kGlorotUniform: {
      int64_t fan_a = s.rank() >= 1 ? s[0] : 1;
      int64_t fan_b = s.rank() >= 2 ? s.Product(1, s.rank()) : fan_a;
      double bound = init.a * std::sqrt(6.0 / static_cast<double>(fan_a + fan_b));
      for (double& v : values) v = rng.Uniform(-bound, bound);
      break;
    }
    case Init::Kind::kOrthogonal:
      if (s.rank() != 2) {
        return absl::InvalidArgumentError(
            fmt::format("orthogonal initialiser needs a 2-D shape, got {}", s));
      }
      values = OrthogonalValues(s[0], s[1], init.a, rng);
      break;
  }
  WriteConverted(t, absl::MakeConstSpan(values));
  return absl::OkStatus();
}

ParameterStore::ParameterStore(ParameterStoreOptions options)
    : options_(options), rng_(options.seed) {}

absl::StatusOr<Parameter> ParameterStore::GetOrAdd(const std::string& name, Shape shape,
                                                   Init init, DType dtype) {
  auto it = by_name_.find(name);
  if (it == by_name_.end()) return Add(name, std::move(shape), init, dtype);
  if (!(it->second->shape == shape) || it->second->dtype != dtype) {
    return absl::InvalidArgumentError(fmt::format(
        "parameter '{}' exists as {} {}, but {} {} was asked for", name, it->second->shape,
        it->second->dtype, shape, dtype));
  }
  return Parameter(it->second);
}

absl::StatusOr<ParameterStore> ParameterStore::CloneAs(DType dtype) const {
  if (!IsFloat(dtype)) {
    return absl::InvalidArgumentError(
        fmt::format("ParameterStore::CloneAs: parameters must be f32 or f64, got {}", dtype));
  }
  ParameterStore copy(options_);
  for (const auto& p : params_) {
    absl::StatusOr<Parameter> added = copy.Add(p->name, p->shape, Init::Zeros(), dtype);
    if (!added.ok()) return added.status();  // the store's own shapes: only memory can fail
    Parameter q = *added;
    q.set_frozen(p->frozen);
    Tensor from = p->value(), to = q.value();
    for (int64_t i = 0; i < from.num_elements(); ++i) {
      double v = from.dtype() == DType::kF32 ? from.data<float>()[i] : from.data<double>()[i];
      if (dtype == DType::kF32) {
        to.data<float>()[i] = static_cast<float>(v);
      } else {
        to.data<double>()[i] = v;
      }
    }
  }
  return copy;
}

absl::StatusOr<Parameter> ParameterStore::Add(std::string name, Shape shape, Init init,
                                              DType dtype) {
  if (by_name_.contains(name)) {
    return absl::AlreadyExistsError(fmt::format("parameter '{}' already exists", name));
  }
  if (!IsFloat(dtype)) {
    return absl::InvalidArgumentError(
        fmt::format("parameter '{}' must be f32 or f64, got {}", name, dtype));
  }
  for (int64_t d : shape.dims()) {
    if (d <= 0) {
      return absl::InvalidArgumentError(
          fmt::format("parameter '{}' has an empty or negative shape {}", name, shape));
    }
  }
  if (absl::Status s = ValidateTensorType(shape, dtype); !s.ok()) {
    return absl::Status(s.code(), fmt::format("parameter '{}': {}", name, s.message()));
  }
  auto p = std::make_unique<ParamData>();
  size_t bytes = static_cast<size_t>(shape.num_elements()) * SizeOf(dtype);
  absl::StatusOr<AlignedBuffer> value = TryAllocateAligned(bytes);
  absl::StatusOr<AlignedBuffer> grad =
      value.ok() ? TryAllocateAligned(bytes) : absl::StatusOr<AlignedBuffer>(value.status());
  if (!grad.ok()) {
    return absl::Status(grad.status().code(), fmt::format("parameter '{}' {}: {}", name, shape,
                                                          grad.status().message()));
  }
  p->name = std::move(name);
  p->dtype = dtype;
  p->shape = std::move(shape);
  p->value_buffer = *std::move(value);
  p->grad_buffer = *std::move(grad);
  p->grad().SetZero();
  absl::Status s = Initialize(p->value(), init, rng_);
  if (!s.ok()) return absl::InvalidArgumentError(fmt::format("parameter '{}': {}", p->name, s.message()));
  by_name_[p->name] = p.get();
  params_.push_back(std::move(p));
  return Parameter(params_.back().get());
}

absl::StatusOr<Parameter> ParameterStore::Find(const std::string& name) const {
  auto it = by_name_.find(name);
  if (it == by_name_.end()) return absl::NotFoundError(fmt::format("no parameter '{}'", name));
  return Parameter(it->second);
}

absl::Status ParameterStore::Set(std::string_view name, absl::Span<const float> values) {
  return SetValues(by_name_, name, values);
}

absl::Status ParameterStore::Set(std::string_view name, absl::Span<const double> values) {
  return SetValues(by_name_, name, values);
}

absl::StatusOr<std::vector<double>> ParameterStore::Get(std::string_view name) const {
  auto it = by_name_.find(AbslView(name));
  if (it == by_name_.end()) return absl::NotFoundError(fmt::format("no parameter '{}'", name));
  const Tensor t = it->second->value();
  std::vector<double> out(static_cast<size_t>(t.num_elements()));
  for (size_t i = 0; i < out.size(); ++i) {
    out[i] = t.dtype() == DType::kF32 ? static_cast<double>(t.data<float>()[i])
                                      : t.data<double>()[i];
  }
  return out;
}

void ParameterStore::ZeroGrad() {
  for (auto& p : params_) p->grad().SetZero();
}

std::vector<Parameter> ParameterStore::parameters() const {
  std::vector<Parameter> out;
  out.reserve(params_.size());
  for (const auto& p : params_) out.emplace_back(p.get());
  return out;
}

int64_t ParameterStore::num_elements() const {
  int64_t n = 0;
  for (const auto& p : params_) n += p->shape.num_elements();
  return n;
}

}  // namespace tg
