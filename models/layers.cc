#include "models/layers.h"

#include <algorithm>
#include <cmath>
#include <utility>
#include <vector>

#include "fmt/format.h"
#include "base/status_macros.h"
#include "ops/ops.h"

namespace tg {

absl::StatusOr<Parameter> GetOrAddParam(ParameterStore& store, const std::string& name, Shape shape,
                                        Init init, DType dtype) {
  TG_ASSIGN_OR_RETURN(Parameter p, store.GetOrAdd(name, std::move(shape), init, dtype));
  if (p.dtype() != dtype) {
    return absl::InvalidArgumentError(
        fmt::format("parameter '{}' is {}, but the model was asked to be {} (build an f64 model on "
                    "store.CloneAs(DType::kF64))",
                    name, p.dtype(), dtype));
  }
  return p;
}

Expr HostConstant(Graph& g, Shape shape, absl::Span<const double> values, DType dtype) {
  if (dtype == DType::kF64) return g.Constant(std::move(shape), values);
  std::vector<float> f(values.begin(), values.end());
  return g.Constant(std::move(shape), f);
}

absl::StatusOr<Linear> Linear::Create(ParameterStore& store, const LinearOptions& options) {
  double bound = 1.0 / std::sqrt(static_cast<double>(std::max<int64_t>(options.in_features, 1)));
  Linear l;
  TG_ASSIGN_OR_RETURN(l.weight_, GetOrAddParam(store, options.prefix + ".weight",
                                               {options.out_features, options.in_features},
                                               Init::Uniform(-bound, bound), options.dtype));
  if (options.bias) {
    TG_ASSIGN_OR_RETURN(l.bias_,
                        GetOrAddParam(store, options.prefix + ".bias", {options.out_features},
                                      Init::Uniform(-bound, bound), options.dtype));
  }
  return l;
}

Expr Linear::operator()(Graph& g, Expr x) const {
  Expr y = MatMul(x, overrides_.Read(g, weight_), {.transpose_b = true});
  return bias_.valid() ? y + overrides_.Read(g, bias_) : y;
}

Linear Linear::WithWeights(WeightOverrides overrides) const {
  Linear l = *this;
  l.overrides_ = std::move(overrides);
  return l;
}

absl::StatusOr<EmbeddingLayer> EmbeddingLayer::Create(ParameterStore& store,
                                                      const EmbeddingOptions& options) {
  EmbeddingLayer e;
  TG_ASSIGN_OR_RETURN(e.weight_, GetOrAddParam(store, options.prefix + ".weight",
                                               {options.num_embeddings, options.embedding_dim},
                                               options.init, options.dtype));
  return e;
}

Expr EmbeddingLayer::operator()(Graph& g, Expr ids) const {
  return Embedding(overrides_.Read(g, weight_), ids);
}

EmbeddingLayer EmbeddingLayer::WithWeights(WeightOverrides overrides) const {
  EmbeddingLayer e = *this;
  e.overrides_ = std::move(overrides);
  return e;
}

Expr DropoutMask(Graph& g, Shape shape, double p, DType dtype, Rng& rng) {
  const int64_t n = shape.num_elements();
  Expr ones = HostConstant(g, std::move(shape), std::vector<double>(n, 1.0), dtype);
  return Dropout(g, ones, p, rng);
}

Expr Dropout(Graph& g, Expr x, double p, Rng& rng) {
  if (p == 0 || g.mode() == ExecMode::kInference) return x;
  // One draw per op (its seed), so a compiled replay can re-seed it (OpDef::seed_attr).
  return Dropout(x, p, rng.NextBits());
}

Expr LayerNorm(Expr x, Expr gain, Expr bias, double eps) {
  // One op for the statistics and the normalisation (and one for its gradient): a compiled
  // step fuses it with the gain, the bias and its neighbours into one pass over each row.
  return MulAdd(Normalize(x, eps), gain, bias);
}

}  // namespace tg
