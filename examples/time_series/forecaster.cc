#include "examples/time_series/forecaster.h"

#include <algorithm>
#include <vector>

#include "absl/strings/str_cat.h"
#include "models/unroll.h"
#include "ops/ops.h"

namespace tg::examples {
namespace {

constexpr DType kDType = DType::kF32;

}  // namespace

absl::StatusOr<Forecaster> Forecaster::Create(ParameterStore& store,
                                              const ForecasterOptions& options) {
  Forecaster model;
  model.options_ = options;
  absl::StatusOr<LstmCell> cell = LstmCell::Create(
      store, RecurrentOptions{.input_size = options.level_input ? 3 : 2,
                              .hidden_size = options.hidden, .prefix = "lstm", .dtype = kDType});
  if (!cell.ok()) return cell.status();
  model.cell_ = *cell;
  absl::StatusOr<Linear> head = Linear::Create(
      store, {.in_features = options.hidden, .out_features = options.horizon, .prefix = "head",
              .dtype = kDType});
  if (!head.ok()) return head.status();
  model.head_ = *head;
  if (options.skip) {
    absl::StatusOr<Linear> skip = Linear::Create(
        store, {.in_features = options.input_size, .out_features = options.horizon,
                .prefix = "skip", .dtype = kDType});
    if (!skip.ok()) return skip.status();
    model.skip_ = *skip;
  }
  return model;
}

void Forecaster::FillInputs(const WindowTask& task, absl::Span<const int64_t> ids,
                            ForecastInputs& out) const {
  const int64_t n = static_cast<int64_t>(ids.size()), steps = options_.input_size;
  const int64_t c = channels();
  out.n = n;
  out.steps = steps;
  out.channels = c;
  out.sequence.resize(steps * n * c);
  out.linear.resize(n * steps);
  out.scale.resize(n);
  for (int64_t b = 0; b < n; ++b) {
    const int64_t w = ids[b];
    // With differencing the inputs start one value into the window.
    const int64_t first = w + task.window - steps;
    for (int64_t t = 0; t < steps; ++t) {
      double* at = &out.sequence[(t * n + b) * c];
      at[0] = task.inputs[w][t];
      at[1] = task.log_scale[w];
      if (options_.level_input) at[2] = task.Standardized(first + t);
      out.linear[b * steps + t] = task.linear_inputs[w][t];
    }
    out.scale[b] = task.norms[w].scale / task.unit;
  }
}

Expr Forecaster::PredictFrom(Graph& g, Expr sequence, Expr linear, Expr scale) const {
  const int64_t n = sequence.shape().dim(1);
  UnrollResult r = Unroll(g, cell_, SplitSteps(sequence), cell_.ZeroState(g, n));
  Expr out = Mul(head_(g, r.final.h), scale);
  if (options_.skip) out = Add(out, skip_(g, linear));
  return out;
}

Expr Forecaster::Predict(Graph& g, const WindowTask& task, absl::Span<const int64_t> ids) const {
  ForecastInputs in;
  FillInputs(task, ids, in);
  return PredictFrom(g, HostConstant(g, {in.steps, in.n, in.channels}, in.sequence, kDType),
                     HostConstant(g, {in.n, in.steps}, in.linear, kDType),
                     HostConstant(g, {in.n, 1}, in.scale, kDType));
}

absl::Status Forecaster::StartFromLinear(ParameterStore& store, const LinearFit& fit) const {
  if (!options_.skip) {
    return absl::FailedPreconditionError("the forecaster has no skip connection to start");
  }
  if (fit.inputs != options_.input_size || fit.outputs != options_.horizon) {
    return absl::InvalidArgumentError(absl::StrCat(
        "a linear fit of ", fit.inputs, " inputs and ", fit.outputs, " outputs cannot start a skip "
        "connection of ", options_.input_size, " inputs and ", options_.horizon, " outputs"));
  }
  std::vector<double> weight, bias;
  for (int64_t o = 0; o < fit.outputs; ++o) {
    for (int64_t i = 0; i < fit.inputs; ++i) weight.push_back(fit.coefficient(o, i));
    bias.push_back(fit.intercept(o));
  }
  const int64_t head_size = options_.horizon * options_.hidden;
  for (absl::Status s : {store.Set(skip_.weight().name(), weight),
                         store.Set(skip_.bias().name(), bias),
                         store.Set(head_.weight().name(), std::vector<double>(head_size, 0.0)),
                         store.Set(head_.bias().name(), std::vector<double>(options_.horizon, 0.0))}) {
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::StatusOr<Forecasts> ForecastWindows(const Forecaster& model, const WindowTask& task,
                                          int64_t begin, int64_t count, Graph& g) {
  Forecasts out;
  out.reserve(count * task.horizon);
  constexpr int64_t kChunk = 64;  // windows per pass: their activations stay in cache
  std::vector<int64_t> ids;
  for (int64_t k = 0; k < count; k += kChunk) {
    g.Clear();
    ids.clear();
    for (int64_t j = k; j < std::min(count, k + kChunk); ++j) ids.push_back(begin + j);
    absl::StatusOr<std::vector<float>> v = model.Predict(g, task, ids).ToVector<float>();
    if (!v.ok()) return v.status();
    for (size_t i = 0; i < ids.size(); ++i) {
      for (int64_t s = 0; s < task.horizon; ++s) {
        out.push_back(task.FromUnits(ids[i], (*v)[i * task.horizon + s]));
      }
    }
  }
  return out;
}

}  // namespace tg::examples
