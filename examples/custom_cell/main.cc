// A recurrent cell a user invents, written from ops, trained by BPTT and checked by finite
// differences. Nothing recurrent-specific is in tapegrad's differentiation: Backward walks
// the 20 unrolled steps like any other graph. Exit status 1 if it fails to learn or the
// gradient check fails.
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "autodiff/backward.h"
#include "autodiff/grad_check.h"
#include "base/flag_checks.h"
#include "examples/common/flags.h"
#include "graph/dot.h"
#include "models/layers.h"
#include "models/optimizers.h"
#include "models/unroll.h"
#include "ops/ops.h"

// ---- the whole cell: h' = f * h + (1 - f) * tanh(u), with [f, u] from x and h ----
struct MinimalGatedCell {
  tg::Parameter wx, wh, b;  // wx [I,2H], wh [H,2H], b [2H]
  tg::State Step(tg::Graph& g, tg::Expr x, const tg::State& s) const {
    tg::Expr z = tg::MatMul(x, g.Param(wx)) + tg::MatMul(s.h, g.Param(wh)) + g.Param(b);
    auto [f, u] = tg::Split<2>(z, /*axis=*/1);
    tg::Expr keep = tg::Sigmoid(f);
    return {.h = keep * s.h + (1.0 - keep) * tg::Tanh(u)};
  }
  tg::State ZeroState(tg::Graph& g, int64_t batch) const {
    return {.h = g.Fill({batch, hidden_size()}, 0.0, wh.dtype())};
  }
  int64_t hidden_size() const { return wh.shape()[0]; }
};

ABSL_FLAG(int, train_steps, 300,
          "Adam updates, at least 1 (each on 16 fresh noisy sine waves of 20 steps)");
ABSL_FLAG(double, lr, 1e-2, "Adam learning rate (> 0)");
ABSL_FLAG(uint64_t, seed, 7, "seed of the initial weights (the data has its own, fixed)");
ABSL_FLAG(std::string, dot, "",
          "write the graph of the first training step (forward and backward) to this DOT file");
ABSL_FLAG(std::string, dot_scope, "",
          "with --dot: only this name scope (e.g. step_1), as DotOptions::only_scope");

namespace {

constexpr int64_t kSteps = 20, kBatch = 16, kHidden = 24;

// GetOrAdd: built again on a CloneAs(f64) copy of the store, the cell binds to the copy.
MinimalGatedCell MakeCell(tg::ParameterStore& store, tg::DType dtype) {
  auto p = [&](const char* name, tg::Shape shape) {
    return *store.GetOrAdd(name, shape, tg::Init::GlorotUniform(), dtype);
  };
  return {p("cell.wx", {1, 2 * kHidden}), p("cell.wh", {kHidden, 2 * kHidden}),
          *store.GetOrAdd("cell.b", {2 * kHidden}, tg::Init::Zeros(), dtype)};
}

// Noisy sine waves, one per batch row: inputs x_t and targets x_{t+1}, time-major.
void MakeBatch(tg::Rng& rng, std::vector<double>& x, std::vector<double>& y) {
  x.assign(kSteps * kBatch, 0);
  y.assign(kSteps * kBatch, 0);
  for (int64_t b = 0; b < kBatch; ++b) {
    double phase = rng.Uniform(0, 6.28), freq = rng.Uniform(0.2, 0.4);
    for (int64_t t = 0; t < kSteps; ++t) {
      x[t * kBatch + b] = std::sin(phase + freq * t) + 0.05 * rng.Uniform(-1, 1);
      y[t * kBatch + b] = std::sin(phase + freq * (t + 1));
    }
  }
}

// Mean squared error of the one-step forecasts over the whole unrolled sequence.
tg::Expr ForecastLoss(tg::Graph& g, const MinimalGatedCell& cell, const tg::Linear& head,
                      const std::vector<double>& x, const std::vector<double>& y,
                      tg::DType dtype, int64_t steps) {
  tg::Expr xs = tg::HostConstant(g, {kSteps, kBatch, 1}, x, dtype);
  std::vector<tg::Expr> inputs = tg::SplitSteps(tg::Slice(xs, 0, 0, steps));
  tg::UnrollResult r = tg::Unroll(g, cell, inputs, cell.ZeroState(g, kBatch));
  tg::Expr pred = head(g, tg::StackSteps(r.outputs));  // [steps*B, 1]
  tg::Expr target = tg::Slice(tg::HostConstant(g, {kSteps * kBatch, 1}, y, dtype), 0, 0,
                              steps * kBatch);
  return tg::MseLoss(pred, target);
}

}  // namespace

int main(int argc, char** argv) {
  tg::examples::ParseFlags(argc, argv, "custom_cell",
      "The README's custom cell (a minimal gated cell written from ops) learns one-step sine\n"
      "forecasts by BPTT through 20 steps, then its float64 copy passes a finite-difference\n"
      "gradient check. Exit status 1 unless the loss falls tenfold and the check passes.\n\n"
      "  custom_cell\n"
      "  custom_cell --dot=cell.dot --dot_scope=step_1 && dot -Tpng cell.dot -o cell.png");
  // Checked before any work: a bad value ends the program with status 2 and one line.
  tg::FlagChecks checks("custom_cell");
  checks.AtLeast("train_steps", absl::GetFlag(FLAGS_train_steps), 1)
      .GreaterThan("lr", absl::GetFlag(FLAGS_lr), 0)
      .ExitIfAny();
  const int train_steps = absl::GetFlag(FLAGS_train_steps);
  tg::ParameterStore store({.seed = absl::GetFlag(FLAGS_seed)});
  MinimalGatedCell cell = MakeCell(store, tg::DType::kF32);
  tg::Linear head = *tg::Linear::Create(store, {.in_features = kHidden, .out_features = 1,
                                                .prefix = "head"});
  tg::Adam adam(store, {.learning_rate = absl::GetFlag(FLAGS_lr)});
  tg::Rng rng(3);
  tg::Graph g;
  std::vector<double> x, y;
  double first = 0, last = 0;
  for (int step = 0; step < train_steps; ++step) {
    g.Clear();  // the graph keeps its memory across steps
    MakeBatch(rng, x, y);
    tg::Expr loss = ForecastLoss(g, cell, head, x, y, tg::DType::kF32, kSteps);
    if (absl::Status s = tg::Backward(loss); !s.ok()) {  // BPTT through 20 steps
      std::printf("%s\n", s.ToString().c_str());
      return 1;
    }
    if (const std::string dot = absl::GetFlag(FLAGS_dot); step == 0 && !dot.empty()) {
      tg::DotOptions opts;
      opts.title = "custom_cell: one training step";
      opts.only_scope = absl::GetFlag(FLAGS_dot_scope);
      if (absl::Status s = tg::WriteDot(g, dot, opts); !s.ok()) {
        std::fprintf(stderr, "custom_cell: %s\n", s.ToString().c_str());
        return 1;
      }
      std::printf("wrote the graph of one training step (%lld nodes) to %s\n",
                  static_cast<long long>(g.num_nodes()), dot.c_str());
    }
    double norm = tg::ClipGradNorm(store, 1.0);
    (void)adam.Step();
    store.ZeroGrad();
    last = *loss.Scalar();
    if (step == 0) first = last;
    if (step % 50 == 0 || step == train_steps - 1) {
      std::printf("step %3d  loss %.5f  grad norm %.3f\n", step, last, norm);
    }
  }

  // The same model in float64, checked against finite differences through 4 steps.
  tg::ParameterStore store64 = *store.CloneAs(tg::DType::kF64);  // f64: cannot fail
  MinimalGatedCell cell64 = MakeCell(store64, tg::DType::kF64);
  tg::Linear head64 = *tg::Linear::Create(store64, {.in_features = kHidden, .out_features = 1,
                                                    .prefix = "head", .dtype = tg::DType::kF64});
  absl::Status check = tg::CheckGradients(store64, [&](tg::Graph& g64) {
    return ForecastLoss(g64, cell64, head64, x, y, tg::DType::kF64, 4);
  });
  std::printf("gradient check: %s\n", check.ok() ? "pass" : std::string(check.message()).c_str());
  bool learned = last < first / 10;
  std::printf("loss %.5f -> %.5f: %s\n", first, last, learned ? "learned" : "did NOT learn");
  return check.ok() && learned ? 0 : 1;
}
