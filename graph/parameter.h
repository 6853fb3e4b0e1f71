// Parameter and ParameterStore. The store owns weights, gradients and optimizer state and
// outlives graphs; a Parameter is a cheap handle a cell keeps as a member and passes to
// g.Param(p) each step.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "base/random.h"
#include "graph/tensor.h"

namespace tg {

// How a parameter's values are drawn. Fan-in/fan-out for Glorot come from the first two
// dimensions ([in, out] or PyTorch's [out, in] — the bound is symmetric in them).
struct Init {
  enum class Kind { kZeros, kConstant, kUniform, kGlorotUniform, kOrthogonal };
  Kind kind = Kind::kZeros;
  double a = 0, b = 0;  // constant: a; uniform: [a, b); glorot/orthogonal: gain a

  static Init Zeros() { return {}; }
  static Init Constant(double v) { return {Kind::kConstant, v, 0}; }
  static Init Uniform(double lo, double hi) { return {Kind::kUniform, lo, hi}; }
  static Init GlorotUniform(double gain = 1.0) { return {Kind::kGlorotUniform, gain, 0}; }
  // A (semi-)orthogonal 2-D matrix times gain, from Gram–Schmidt on a normal draw.
  static Init Orthogonal(double gain = 1.0) { return {Kind::kOrthogonal, gain, 0}; }
};

struct ParamData {
  std::string name;
  DType dtype = DType::kF32;
  Shape shape;
  AlignedBuffer value_buffer, grad_buffer;
  bool frozen = false;  // no gradient; optimizers skip it (their state lives in the optimizer)

  Tensor value() const { return Tensor(value_buffer.get(), dtype, shape); }
  Tensor grad() const { return Tensor(grad_buffer.get(), dtype, shape); }
};

class Parameter {
 public:
  Parameter() = default;
  explicit Parameter(ParamData* data) : data_(data) {}

  bool valid() const { return data_ != nullptr; }
  const std::string& name() const { return data_->name; }
  const Shape& shape() const { return data_->shape; }
  DType dtype() const { return data_->dtype; }
  Tensor value() const { return data_->value(); }
  Tensor grad() const { return data_->grad(); }
  bool frozen() const { return data_->frozen; }
  void set_frozen(bool frozen) const { data_->frozen = frozen; }
  ParamData* data() const { return data_; }

 private:
  ParamData* data_ = nullptr;
};

struct ParameterStoreOptions {
  uint64_t seed = 0;  // the initialisers draw from one generator seeded with this
};

class ParameterStore {
 public:
  explicit ParameterStore(ParameterStoreOptions options = {});
  ParameterStore(ParameterStore&&) = default;
  ParameterStore& operator=(ParameterStore&&) = default;

  // Creates a parameter; fails on a duplicate name, an empty shape or a non-float dtype.
  absl::StatusOr<Parameter> Add(std::string name, Shape shape, Init init = Init::Zeros(),
                                DType dtype = DType::kF32);
  // The parameter `name` if it exists (its shape and dtype must equal those asked for, else
  // InvalidArgument naming both), otherwise Add(...). Building a model on a CloneAs() copy binds to the copy.
  absl::StatusOr<Parameter> GetOrAdd(const std::string& name, Shape shape,
                                     Init init = Init::Zeros(), DType dtype = DType::kF32);
  // A new store with the same names, values and frozen flags in `dtype` (f32 -> f64 for a
  // gradient check of an f32 model); gradients are zero and optimizer state is not copied.
  ParameterStore CloneAs(DType dtype) const;
  // Looks a parameter up by name; NotFound names it.
  absl::StatusOr<Parameter> Find(const std::string& name) const;
  // Copies `values` (row-major, one per element) into parameter `name`, converted to its
  // dtype. NotFound names an unknown parameter; InvalidArgument names the parameter, its
  // shape and both counts when values.size() is not its element count.
  absl::Status Set(std::string_view name, absl::Span<const float> values);
  absl::Status Set(std::string_view name, absl::Span<const double> values);
  // The values of parameter `name` (row-major) as doubles, whatever its dtype; NotFound
  // names an unknown parameter.
  absl::StatusOr<std::vector<double>> Get(std::string_view name) const;

  void ZeroGrad();
  std::vector<Parameter> parameters() const;  // in creation order
  int64_t num_parameters() const { return static_cast<int64_t>(params_.size()); }
  int64_t num_elements() const;
  Rng& rng() { return rng_; }

 private:
  ParameterStoreOptions options_;
  Rng rng_;
  std::vector<std::unique_ptr<ParamData>> params_;
  absl::flat_hash_map<std::string, ParamData*> by_name_;
};

// Fills `t` (f32 or f64) per `init`, drawing from `rng`; fails for orthogonal on non-2-D.
absl::Status Initialize(const Tensor& t, const Init& init, Rng& rng);

}  // namespace tg
