/// \file
/// Parameter and ParameterStore. The store owns weights, gradients and optimizer state and
/// outlives graphs; a Parameter is a cheap handle a cell keeps as a member and passes to
/// g.Param(p) each step.
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

/// How a parameter's values are drawn. Fan-in/fan-out for Glorot are the first dimension
/// and the product of the others ([in, out] or PyTorch's [out, in] — the bound is symmetric
/// in them).
struct Init {
  /// The distribution; a and b are its arguments.
  enum class Kind { kZeros, kConstant, kUniform, kGlorotUniform, kOrthogonal };
  Kind kind = Kind::kZeros;  ///< Which initialiser.
  /// \var a
  /// Constant: the value; uniform: the low end; glorot/orthogonal: the gain.
  /// \var b
  /// Uniform: the high end (excluded); unused otherwise.
  double a = 0, b = 0;

  /// All zeros.
  static Init Zeros() { return {}; }
  /// Every element `v`.
  static Init Constant(double v) { return {Kind::kConstant, v, 0}; }
  /// Uniform in [lo, hi).
  static Init Uniform(double lo, double hi) { return {Kind::kUniform, lo, hi}; }
  /// Uniform in ±gain·sqrt(6 / (fan_in + fan_out)) (Glorot and Bengio 2010).
  static Init GlorotUniform(double gain = 1.0) { return {Kind::kGlorotUniform, gain, 0}; }
  /// A (semi-)orthogonal 2-D matrix times gain, from Gram–Schmidt on a normal draw.
  static Init Orthogonal(double gain = 1.0) { return {Kind::kOrthogonal, gain, 0}; }
};

/// A parameter's storage, owned by its ParameterStore.
struct ParamData {
  std::string name;  ///< Unique in the store.
  DType dtype = DType::kF32;  ///< f32 or f64.
  Shape shape;  ///< Every dimension > 0.
  /// \var value_buffer
  /// The value's memory (64-byte aligned).
  /// \var grad_buffer
  /// The gradient's memory (64-byte aligned).
  AlignedBuffer value_buffer, grad_buffer;
  bool frozen = false;  ///< No gradient; optimizers skip it (their state lives in the optimizer).

  /// The value, as a tensor over value_buffer.
  Tensor value() const { return Tensor(value_buffer.get(), dtype, shape); }
  /// The gradient, as a tensor over grad_buffer.
  Tensor grad() const { return Tensor(grad_buffer.get(), dtype, shape); }
};

/// A cheap handle to one parameter of a ParameterStore; cells keep these as members.
/// Every accessor but valid() needs a valid handle.
class Parameter {
 public:
  /// An empty handle (valid() is false); Graph::Param records an error for it.
  Parameter() = default;
  /// A handle to `data` (ParameterStore makes these).
  explicit Parameter(ParamData* data) : data_(data) {}

  /// Whether it refers to a parameter.
  bool valid() const { return data_ != nullptr; }
  /// The name in the store ("lstm.weight_ih_l0").
  const std::string& name() const { return data_->name; }
  /// The value's shape.
  const Shape& shape() const { return data_->shape; }
  /// f32 or f64.
  DType dtype() const { return data_->dtype; }
  /// The value, in place.
  Tensor value() const { return data_->value(); }
  /// The gradient, in place (Backward accumulates into it).
  Tensor grad() const { return data_->grad(); }
  /// Whether Backward and the optimizers skip it.
  bool frozen() const { return data_->frozen; }
  /// Freezes or unfreezes it (for every handle: the flag lives in the store).
  void set_frozen(bool frozen) const { data_->frozen = frozen; }
  /// The storage it refers to.
  ParamData* data() const { return data_; }

 private:
  ParamData* data_ = nullptr;
};

/// Options of a ParameterStore.
struct ParameterStoreOptions {
  uint64_t seed = 0;  ///< The initialisers draw from one generator seeded with this.
};

/// Owns a model's parameters: values, gradients and the generator that initialises them.
/// Outlives graphs; moving it keeps every Parameter handle valid.
class ParameterStore {
 public:
  /// An empty store whose generator is seeded with `options.seed`.
  explicit ParameterStore(ParameterStoreOptions options = {});
  /// Moves the parameters; handles to them stay valid.
  ParameterStore(ParameterStore&&) = default;
  /// Moves the parameters; handles to them stay valid.
  ParameterStore& operator=(ParameterStore&&) = default;

  /// Creates a parameter with a zero gradient, its value drawn per `init` from the store's
  /// generator. Fails on a duplicate name (AlreadyExists), a dimension <= 0, a rank above
  /// Shape::kMaxRank, a non-float dtype, or an initialiser that does not fit the shape
  /// (orthogonal on non-2-D); a size over MaxTensorBytes() is ResourceExhausted.
  absl::StatusOr<Parameter> Add(std::string name, Shape shape, Init init = Init::Zeros(),
                                DType dtype = DType::kF32);
  /// The parameter `name` if it exists (its shape and dtype must equal those asked for, else
  /// InvalidArgument naming both), otherwise Add(...). Building a model on a CloneAs() copy
  /// binds to the copy.
  absl::StatusOr<Parameter> GetOrAdd(const std::string& name, Shape shape,
                                     Init init = Init::Zeros(), DType dtype = DType::kF32);
  /// A new store with the same names, values and frozen flags in `dtype` (f32 -> f64 for a
  /// gradient check of an f32 model); gradients are zero and optimizer state is not copied.
  /// InvalidArgument for a dtype that is not f32 or f64.
  absl::StatusOr<ParameterStore> CloneAs(DType dtype) const;
  /// Looks a parameter up by name; NotFound names it.
  absl::StatusOr<Parameter> Find(const std::string& name) const;
  /// Copies `values` (row-major, one per element) into parameter `name`, converted to its
  /// dtype. NotFound names an unknown parameter; InvalidArgument names the parameter, its
  /// shape and both counts when values.size() is not its element count.
  absl::Status Set(std::string_view name, absl::Span<const float> values);
  /// The same as the float overload, from double values.
  absl::Status Set(std::string_view name, absl::Span<const double> values);
  /// The values of parameter `name` (row-major) as doubles, whatever its dtype; NotFound
  /// names an unknown parameter.
  absl::StatusOr<std::vector<double>> Get(std::string_view name) const;

  /// Sets every parameter's gradient (frozen ones too) to zero.
  void ZeroGrad();
  /// Handles to every parameter, in creation order.
  std::vector<Parameter> parameters() const;
  /// How many parameters the store holds.
  int64_t num_parameters() const { return static_cast<int64_t>(params_.size()); }
  /// Elements over all parameters.
  int64_t num_elements() const;
  /// The generator the initialisers draw from.
  Rng& rng() { return rng_; }

 private:
  ParameterStoreOptions options_;
  Rng rng_;
  std::vector<std::unique_ptr<ParamData>> params_;
  absl::flat_hash_map<std::string, ParamData*> by_name_;
};

/// Fills `t` (f32 or f64) per `init`, drawing from `rng`; fails for orthogonal on non-2-D.
absl::Status Initialize(const Tensor& t, const Init& init, Rng& rng);

}  // namespace tg
