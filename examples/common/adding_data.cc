#include "examples/common/adding_data.h"

#include <algorithm>

#include "base/status_macros.h"
#include "models/unroll.h"
#include "ops/ops.h"

namespace tg::examples {

AddingBatch MakeAddingBatch(Rng& rng, int64_t steps, int64_t batch) {
  AddingBatch b{.steps = steps, .batch = batch,
                .inputs = std::vector<double>(steps * batch * 2, 0.0),
                .targets = std::vector<double>(batch, 0.0)};
  const int64_t half = std::max<int64_t>(steps / 2, 1);
  for (int64_t i = 0; i < batch; ++i) {
    for (int64_t t = 0; t < steps; ++t) b.inputs[(t * batch + i) * 2] = rng.Uniform();
    const int64_t first = static_cast<int64_t>(rng.Below(static_cast<uint64_t>(half)));
    const int64_t second =
        half + static_cast<int64_t>(rng.Below(static_cast<uint64_t>(std::max<int64_t>(steps - half, 1))));
    for (int64_t t : {first, second}) {
      b.inputs[(t * batch + i) * 2 + 1] = 1.0;
      b.targets[i] += b.inputs[(t * batch + i) * 2];
    }
  }
  return b;
}

AddingBatch SliceAddingBatch(const AddingBatch& b, int64_t begin, int64_t end) {
  const int64_t n = end - begin;
  AddingBatch out{.steps = b.steps, .batch = n,
                  .inputs = std::vector<double>(b.steps * n * 2, 0.0),
                  .targets = std::vector<double>(b.targets.begin() + begin, b.targets.begin() + end)};
  for (int64_t t = 0; t < b.steps; ++t) {
    std::copy(b.inputs.begin() + (t * b.batch + begin) * 2, b.inputs.begin() + (t * b.batch + end) * 2,
              out.inputs.begin() + t * n * 2);
  }
  return out;
}

absl::StatusOr<AddingModel> MakeAddingModel(ParameterStore& store, const AddingModelOptions& options) {
  AddingModel m;
  const CellSpec spec{
      .kind = options.kind,
      .recurrent = {.input_size = 2, .hidden_size = options.hidden, .prefix = "rnn",
                    .dtype = options.dtype},
      .forget_bias = options.forget_bias};
  TG_ASSIGN_OR_RETURN(m.cell, MakeCell(store, spec));
  const LinearOptions head{.in_features = options.hidden,
                           .out_features = 1,
                           .prefix = "head",
                           .dtype = options.dtype};
  TG_ASSIGN_OR_RETURN(m.head, Linear::Create(store, head));
  return m;
}

AddingForward BuildAddingForward(Graph& g, const AddingModel& model, const AddingBatch& batch,
                                 DType dtype) {
  AddingForward f;
  f.inputs = HostConstant(g, {batch.steps, batch.batch, 2}, batch.inputs, dtype);
  f.targets = HostConstant(g, {batch.batch, 1}, batch.targets, dtype);
  UnrollResult r =
      Unroll(g, model.cell, SplitSteps(f.inputs), model.cell.ZeroState(g, batch.batch));
  f.prediction = model.head(g, r.final.h);
  f.loss = MseLoss(f.prediction, f.targets);
  f.hidden = std::move(r.outputs);
  return f;
}

}  // namespace tg::examples
