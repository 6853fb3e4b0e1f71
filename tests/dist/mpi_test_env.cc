#include "tests/dist/mpi_test_env.h"

#include <cstring>

#include "autodiff/backward.h"
#include "base/status_macros.h"
#include "ops/ops.h"
#include "testing/test_values.h"

namespace tg::testing {

RegressionBatch RegressionBatch::Random(int64_t batch, uint64_t seed) {
  return {.batch = batch,
          .xs = UniformValues(TinyLstm::kSteps * batch * TinyLstm::kInput, seed),
          .ys = UniformValues(TinyLstm::kSteps * batch, seed + 1000)};
}

absl::StatusOr<TinyLstm> TinyLstm::Create(ParameterStore& store, DType dtype, int64_t hidden) {
  TinyLstm m;
  m.dtype_ = dtype;
  TG_ASSIGN_OR_RETURN(m.cell_, LstmCell::Create(store, {.input_size = kInput, .hidden_size = hidden,
                                                        .dtype = dtype}));
  TG_ASSIGN_OR_RETURN(m.head_, Linear::Create(store, {.in_features = hidden, .out_features = 1,
                                                      .prefix = "head", .dtype = dtype}));
  return m;
}

absl::StatusOr<double> TinyLstm::Backprop(const RegressionBatch& data, int64_t begin,
                                          int64_t end) const {
  const int64_t rows = end - begin;
  Graph g;
  // The rows [begin, end) of step t of a time-major [T, B * width] array, in the model's dtype.
  auto input = [&](const std::vector<double>& all, int64_t t, int64_t width) {
    const auto first = all.begin() + (t * data.batch + begin) * width;
    std::vector<double> values(first, first + rows * width);
    if (dtype_ == DType::kF64) return g.Input({rows, width}, values);
    return g.Input({rows, width}, std::vector<float>(values.begin(), values.end()));
  };
  State s = cell_.ZeroState(g, rows);
  Expr loss;
  for (int64_t t = 0; t < kSteps; ++t) {
    s = cell_.Step(g, input(data.xs, t, kInput), s);
    Expr term = Mean(Square(head_(g, s.h) - input(data.ys, t, 1)));
    loss = t == 0 ? term : loss + term;
  }
  TG_RETURN_IF_ERROR(Backward(loss));
  return loss.Scalar();
}

std::vector<unsigned char> ParameterBytes(const ParameterStore& store) {
  std::vector<unsigned char> bytes;
  for (const Parameter& p : store.parameters()) {
    const auto* b = static_cast<const unsigned char*>(p.value().raw());
    bytes.insert(bytes.end(), b, b + p.value().num_bytes());
  }
  return bytes;
}

}  // namespace tg::testing
