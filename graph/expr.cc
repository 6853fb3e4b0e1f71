#include "graph/graph.h"

#include "fmt/format.h"

// The Expr accessors: they need the Graph's definition.
namespace tg {

Shape Expr::shape() const {
  if (graph_ == nullptr) return {};
  absl::StatusOr<const Node*> n = graph_->Lookup(*this);
  return n.ok() ? (*n)->type.shape : Shape{};
}

DType Expr::dtype() const {
  if (graph_ == nullptr) return DType::kF32;
  absl::StatusOr<const Node*> n = graph_->Lookup(*this);
  return n.ok() ? (*n)->type.dtype : DType::kF32;
}

absl::StatusOr<Tensor> Expr::value() const {
  if (graph_ == nullptr) return absl::InvalidArgumentError("an empty Expr was used");
  absl::StatusOr<const Node*> n = graph_->Lookup(*this);
  if (!n.ok()) return n.status();
  if ((*n)->poisoned) {
    return graph_->status().ok()
               ? absl::FailedPreconditionError(
                     fmt::format("{} has no value: it failed", graph_->NodeLabel(id_)))
               : graph_->status();
  }
  if (!(*n)->ran) {
    return absl::FailedPreconditionError(
        fmt::format("{} has not run (record mode or a deferred scope)", graph_->NodeLabel(id_)));
  }
  return (*n)->value;
}

template <class T>
absl::StatusOr<std::vector<T>> Expr::ToVector() const {
  absl::StatusOr<Tensor> t = value();
  if (!t.ok()) return t.status();
  if (t->dtype() != DTypeOf<T>()) {
    return absl::InvalidArgumentError(fmt::format("ToVector<{}>: {} holds {}",
                                                  DTypeName(DTypeOf<T>()),
                                                  graph_->NodeLabel(id_), t->dtype()));
  }
  std::span<T> s = t->span<T>();
  return std::vector<T>(s.begin(), s.end());
}
template absl::StatusOr<std::vector<float>> Expr::ToVector<float>() const;
template absl::StatusOr<std::vector<double>> Expr::ToVector<double>() const;
template absl::StatusOr<std::vector<int32_t>> Expr::ToVector<int32_t>() const;

absl::StatusOr<double> Expr::Scalar() const {
  absl::StatusOr<Tensor> t = value();
  if (!t.ok()) return t.status();
  if (t->num_elements() == 0) return absl::InvalidArgumentError("Scalar(): empty tensor");
  switch (t->dtype()) {
    case DType::kF32: return t->data<float>()[0];
    case DType::kF64: return t->data<double>()[0];
    case DType::kI32: return t->data<int32_t>()[0];
  }
  return 0.0;
}

}  // namespace tg
