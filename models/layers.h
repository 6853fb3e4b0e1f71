/// \file
/// Feed-forward building blocks shared by the cells and models: Linear, EmbeddingLayer,
/// Dropout, LayerNorm, and two helpers (a dtype-checked GetOrAdd, host constants).
/// Parameter names and layouts follow PyTorch (nn.Linear, nn.Embedding).
#pragma once

#include <cmath>
#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "graph/graph.h"
#include "graph/parameter.h"
#include "base/random.h"
#include "models/weight_overrides.h"

namespace tg {

/// store.GetOrAdd, plus an error naming the parameter when an existing one has another dtype
/// (an f64 model built on an f32 store would otherwise mix dtypes at the first op).
absl::StatusOr<Parameter> GetOrAddParam(ParameterStore& store, const std::string& name, Shape shape,
                                        Init init, DType dtype);

/// A constant tensor of `dtype` (f32 or f64) from host doubles; for masks and weights.
Expr HostConstant(Graph& g, Shape shape, absl::Span<const double> values, DType dtype);

/// Options of Linear::Create.
struct LinearOptions {
  int64_t in_features = 0;   ///< Input width.
  int64_t out_features = 0;  ///< Output width.
  /// Parameters `<prefix>.weight` [out,in], `<prefix>.bias` [out].
  std::string prefix = "linear";
  bool bias = true;  ///< Whether there is a bias.
  DType dtype = DType::kF32;  ///< Parameter dtype, f32 or f64.
};

/// `y = x W^T + b`, as nn.Linear (init Uniform(±1/sqrt(in)) for W and b).
class Linear {
 public:
  /// Gets or adds the parameters in `store` (GetOrAdd: an existing parameter of another
  /// shape or dtype is an error, as is a size <= 0).
  static absl::StatusOr<Linear> Create(ParameterStore& store, const LinearOptions& options);
  /// x [N,in] -> [N,out]; a wrong width is a matmul error on the graph.
  Expr operator()(Graph& g, Expr x) const;

  /// W [out,in].
  const Parameter& weight() const { return weight_; }
  /// b [out]; invalid when options.bias was false.
  const Parameter& bias() const { return bias_; }
  /// The same layer reading its weights through `overrides` (see WeightOverrides).
  Linear WithWeights(WeightOverrides overrides) const;

 private:
  Parameter weight_, bias_;
  WeightOverrides overrides_;
};

/// Options of EmbeddingLayer::Create.
struct EmbeddingOptions {
  int64_t num_embeddings = 0;        ///< V, the number of ids.
  int64_t embedding_dim = 0;         ///< D, the width of a row.
  std::string prefix = "embedding";  ///< Parameter `<prefix>.weight` [V,D].
  DType dtype = DType::kF32;  ///< Parameter dtype, f32 or f64.
  /// Unit variance, as PyTorch's N(0,1), but uniform: Init has no normal kind.
  Init init = Init::Uniform(-std::sqrt(3.0), std::sqrt(3.0));
};

/// A lookup table (nn.Embedding). Named EmbeddingLayer because tg::Embedding is the op.
class EmbeddingLayer {
 public:
  /// Gets or adds the table in `store` (GetOrAdd: an existing parameter of another shape or
  /// dtype is an error, as is a size <= 0).
  static absl::StatusOr<EmbeddingLayer> Create(ParameterStore& store,
                                               const EmbeddingOptions& options);
  /// ids i32 [S...] -> [S..., D]; an id outside [0, V) is an error on the graph.
  Expr operator()(Graph& g, Expr ids) const;

  /// The table [V,D].
  const Parameter& weight() const { return weight_; }
  /// The same table read through `overrides` (see WeightOverrides).
  EmbeddingLayer WithWeights(WeightOverrides overrides) const;

 private:
  Parameter weight_;
  WeightOverrides overrides_;
};

/// Inverted dropout: `x * mask / (1 - p)`, mask ~ Bernoulli(1 - p): the dropout op seeded by
/// one draw from `rng` (so a seed repeats a run exactly; a compiled replay draws a new mask
/// every run). Identity when p == 0 or in ExecMode::kInference. p outside [0, 1) records an
/// InvalidArgument on the graph.
Expr Dropout(Graph& g, Expr x, double p, Rng& rng);

/// The scaled mask itself (values 0 or 1/(1-p)) of `shape` and `dtype`, as dropout of ones;
/// all ones when p == 0 or in inference mode. Variational dropout reuses one mask for every
/// step.
Expr DropoutMask(Graph& g, Shape shape, double p, DType dtype, Rng& rng);

/// Layer normalisation over the last axis of x [N,D]: `(x - mean) / sqrt(var + eps) * gain +
/// bias`, gain and bias [D]: Normalize, then MulAdd.
Expr LayerNorm(Expr x, Expr gain, Expr bias, double eps = 1e-5);

}  // namespace tg
