#include "testing/cell_samples.h"

#include "base/random.h"
#include "testing/test_values.h"
#include "base/status_macros.h"
#include "models/custom_cells.h"
#include "models/stack.h"
#include "models/unroll.h"
#include "ops/ops.h"

namespace tg::testing {
namespace {

std::vector<double> Draw(int64_t n, uint64_t seed, double scale) {
  return UniformValues(n, seed, scale);
}


absl::Status RunCheck(const ModelFn& model, GradCheckReport* report) {
  ParameterStore store({.seed = 21});
  const std::vector<double> x = Draw(kSteps * kBatch * kInput, 1, 1.0);
  const std::vector<double> h0 = Draw(kBatch * kHidden, 2, 0.5);
  auto loss = [&](Graph& g, Expr xe, Expr he) { return WeightedSum(g, model(g, store, xe, he)); };
  GradCheckReport params;
  TG_RETURN_IF_ERROR(CheckGradients(
      store,
      [&](Graph& g) {
        return loss(g, g.Input({kSteps, kBatch, kInput}, x), g.Input({kBatch, kHidden}, h0));
      },
      {.max_coords_per_param = 24}, &params));
  TG_RETURN_IF_ERROR(CheckGradients(
      [&](Graph& g, absl::Span<const Expr> in) { return loss(g, in[0], in[1]); },
      {{.shape = {kSteps, kBatch, kInput}, .values = x}, {.shape = {kBatch, kHidden}, .values = h0}},
      {}, report));
  report->num_checked += params.num_checked;
  report->max_abs_error = std::max(report->max_abs_error, params.max_abs_error);
  report->max_rel_error = std::max(report->max_rel_error, params.max_rel_error);
  return absl::OkStatus();
}

State InitialState(Expr h0, bool has_c) { return {.h = h0, .c = has_c ? h0 * 0.5 : Expr()}; }

// The models' parameters take x's dtype, so each check runs in float64 and float32 alike.
template <class MakeCell>
ModelFn UnrollOf(MakeCell make, bool has_c, UnrollOptions options = {}) {
  return [=](Graph& g, ParameterStore& store, Expr x, Expr h0) {
    auto cell = make(store, x.dtype());
    if (!cell.ok()) {
      g.RecordError(cell.status());
      return std::vector<Expr>{};
    }
    return Unroll(g, *cell, SplitSteps(x), InitialState(h0, has_c), options).outputs;
  };
}

CellSpec Spec(CellKind kind, const std::string& prefix, DType dtype) {
  return {.kind = kind,
          .recurrent = {.input_size = kInput, .hidden_size = kHidden, .prefix = prefix,
                        .dtype = dtype}};
}

std::vector<CellCheck> BuildChecks() {
  std::vector<CellCheck> checks;
  auto add = [&](std::string cell, std::string variant, ModelFn model) {
    checks.push_back(
        {cell, variant, [model](GradCheckReport* r) { return RunCheck(model, r); }, model});
  };
  add("rnn_tanh", "4 steps", UnrollOf([](ParameterStore& s, DType dtype) {
        return MakeCell(s, Spec(CellKind::kRnnTanh, "rnn", dtype));
      }, false));
  add("rnn_relu", "4 steps", UnrollOf([](ParameterStore& s, DType dtype) {
        return MakeCell(s, Spec(CellKind::kRnnRelu, "rnn", dtype));
      }, false));
  add("lstm", "4 steps", UnrollOf([](ParameterStore& s, DType dtype) {
        return MakeCell(s, Spec(CellKind::kLstm, "lstm", dtype));
      }, true));
  add("gru", "4 steps", UnrollOf([](ParameterStore& s, DType dtype) {
        return MakeCell(s, Spec(CellKind::kGru, "gru", dtype));
      }, false));
  add("ln_lstm", "4 steps", UnrollOf([](ParameterStore& s, DType dtype) {
        return LayerNormLstmCell::Create(
            s, {.input_size = kInput, .hidden_size = kHidden, .dtype = dtype});
      }, true));
  add("peephole_lstm", "4 steps", UnrollOf([](ParameterStore& s, DType dtype) {
        return PeepholeLstmCell::Create(
            s, {.input_size = kInput, .hidden_size = kHidden, .dtype = dtype});
      }, true));
  add("lstm", "lengths {4,2,3}", UnrollOf([](ParameterStore& s, DType dtype) {
        return MakeCell(s, Spec(CellKind::kLstm, "lstm", dtype));
      }, true, {.lengths = {4, 2, 3}}));
  add("stacked_gru", "2 layers", [](Graph& g, ParameterStore& store, Expr x, Expr h0) {
    auto stack = StackedRnn::Create(store, {.kind = CellKind::kGru, .input_size = kInput,
                                            .hidden_size = kHidden, .num_layers = 2,
                                            .prefix = "gru", .dtype = x.dtype()});
    if (!stack.ok()) {
      g.RecordError(stack.status());
      return std::vector<Expr>{};
    }
    return stack->Run(g, SplitSteps(x), {.initial = {{.h = h0}, {.h = h0 * 0.5}}}).outputs;
  });
  add("bidirectional_lstm", "forward + backward", [](Graph& g, ParameterStore& store, Expr x,
                                                     Expr h0) {
    auto stack = StackedRnn::Create(store, {.kind = CellKind::kLstm, .input_size = kInput,
                                            .hidden_size = kHidden, .bidirectional = true,
                                            .prefix = "lstm", .dtype = x.dtype()});
    if (!stack.ok()) {
      g.RecordError(stack.status());
      return std::vector<Expr>{};
    }
    State s = InitialState(h0, true);
    return stack->Run(g, SplitSteps(x), {.initial = {s, s}}).outputs;
  });
  return checks;
}

}  // namespace

Expr WeightedSum(Graph& g, absl::Span<const Expr> outputs) {
  Expr loss;
  for (size_t t = 0; t < outputs.size(); ++t) {
    Shape s = outputs[t].shape();
    const std::vector<double> w = Draw(s.num_elements(), 100 + t, 1.0);
    Expr weights = outputs[t].dtype() == DType::kF32
                       ? g.Constant(s, std::vector<float>(w.begin(), w.end()))
                       : g.Constant(s, w);
    Expr term = Sum(outputs[t] * weights);
    loss = loss.valid() ? loss + term : term;
  }
  return loss;
}

const std::vector<CellCheck>& CellChecks() {
  static const std::vector<CellCheck>* checks = new std::vector<CellCheck>(BuildChecks());
  return *checks;
}

}  // namespace tg::testing
