// One-step MAML (Finn et al. 2017) through a built-in LstmCell and Linear, on few-shot sine
// regression: each task is y = A sin(x + phase), and only its 10 support examples tell which.
// The inner step w' = w - alpha * dL_support/dw is built with Backward's create_graph, the
// cell and head run on w' through WithWeights, and the query loss on w' is differentiated
// back to w (second derivatives included). Exit status 1 unless meta-training makes one
// inner step at least halve the query loss it leaves on unseen tasks.
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <vector>

#include "absl/flags/flag.h"
#include "autodiff/backward.h"
#include "base/flag_checks.h"
#include "examples/common/flags.h"
#include "models/layers.h"
#include "models/lstm_cell.h"
#include "models/optimizers.h"
#include "models/unroll.h"
#include "models/weight_overrides.h"
#include "ops/ops.h"

ABSL_FLAG(int, meta_steps, 1500, "outer (Adam) updates, each over --tasks tasks (>= 1)");
ABSL_FLAG(int, tasks, 4, "tasks per outer update (>= 1)");
ABSL_FLAG(double, inner_lr, 0.1, "alpha, the step size of the inner SGD step (> 0)");
ABSL_FLAG(double, outer_lr, 3e-3, "Adam learning rate of the outer update (> 0)");
ABSL_FLAG(uint64_t, seed, 1, "seed of the initial weights and of the tasks");

namespace {

constexpr int64_t kSteps = 5, kBatch = 2, kHidden = 32;  // 10 points per set: 2 x 5 steps

// A task's support or query set: kBatch sequences of kSteps points x, targets y.
struct Set {
  std::vector<double> x, y;
};
struct Task {
  Set support, query;
};

Task DrawTask(tg::Rng& rng) {
  const double amplitude = rng.Uniform(0.5, 2.0), phase = rng.Uniform(0, 3.14159);
  auto draw = [&] {
    Set s;
    for (int64_t i = 0; i < kSteps * kBatch; ++i) {
      s.x.push_back(rng.Uniform(-5, 5));
      s.y.push_back(amplitude * std::sin(s.x.back() + phase));
    }
    return s;
  };
  return {draw(), draw()};
}

struct Model {
  tg::LstmCell cell;
  tg::Linear head;
};

// Mean squared error of the head on every step's h over one set.
tg::Expr SetLoss(tg::Graph& g, const tg::LstmCell& cell, const tg::Linear& head, const Set& s) {
  tg::Expr xs = tg::HostConstant(g, {kSteps, kBatch, 1}, s.x, tg::DType::kF32);
  tg::UnrollResult r = tg::Unroll(g, cell, tg::SplitSteps(xs), cell.ZeroState(g, kBatch));
  tg::Expr y = tg::HostConstant(g, {kSteps * kBatch, 1}, s.y, tg::DType::kF32);
  return tg::MseLoss(head(g, tg::StackSteps(r.outputs)), y);
}

// The query loss after one inner SGD step on the support set, as a differentiable function
// of the stored weights; `before` gets the query loss at the stored weights.
tg::Expr AdaptedQueryLoss(tg::Graph& g, tg::ParameterStore& store, const Model& m,
                          const Task& task, double alpha, tg::Expr* before = nullptr) {
  std::vector<tg::Parameter> params = store.parameters();
  std::vector<tg::Expr> w;
  for (const tg::Parameter& p : params) w.push_back(g.Param(p));
  tg::Expr support = SetLoss(g, m.cell, m.head, task.support);
  auto grads = tg::Backward(support, w, {.create_graph = true});
  if (!grads.ok()) {
    g.RecordError(grads.status());
    return support;
  }
  tg::WeightOverrides fast;
  for (size_t i = 0; i < params.size(); ++i) fast.Set(params[i], w[i] - alpha * (*grads)[i]);
  if (before != nullptr) *before = SetLoss(g, m.cell, m.head, task.query);
  return SetLoss(g, m.cell.WithWeights(fast), m.head.WithWeights(fast), task.query);
}

struct Evaluation {
  double before = 0, after = 0;  // mean query loss at w and at w' over the tasks
};

Evaluation Evaluate(tg::ParameterStore& store, const Model& m, const std::vector<Task>& tasks,
                    double alpha) {
  Evaluation e;
  tg::Graph g;
  for (const Task& t : tasks) {
    g.Clear();
    tg::Expr before;
    tg::Expr after = AdaptedQueryLoss(g, store, m, t, alpha, &before);
    e.before += *before.Scalar() / static_cast<double>(tasks.size());
    e.after += *after.Scalar() / static_cast<double>(tasks.size());
  }
  return e;
}

}  // namespace

int main(int argc, char** argv) {
  tg::examples::ParseFlags(argc, argv, "maml",
      "One-step MAML through an LSTM and a Linear head on few-shot sine regression. Prints\n"
      "the query loss on 100 unseen tasks before and after one inner step, at the initial\n"
      "and at the meta-trained weights. Exit status 1 unless meta-training at least halves\n"
      "the loss one inner step leaves.\n\n"
      "  maml\n"
      "  maml --meta_steps=3000 --inner_lr=0.05");
  // Checked before any work: a bad value ends the program with status 2 and one line.
  tg::FlagChecks checks("maml");
  checks.AtLeast("meta_steps", absl::GetFlag(FLAGS_meta_steps), 1)
      .AtLeast("tasks", absl::GetFlag(FLAGS_tasks), 1)
      .GreaterThan("inner_lr", absl::GetFlag(FLAGS_inner_lr), 0)
      .GreaterThan("outer_lr", absl::GetFlag(FLAGS_outer_lr), 0)
      .ExitIfAny();
  const int meta_steps = absl::GetFlag(FLAGS_meta_steps), num_tasks = absl::GetFlag(FLAGS_tasks);
  const double alpha = absl::GetFlag(FLAGS_inner_lr);
  tg::ParameterStore store({.seed = absl::GetFlag(FLAGS_seed)});
  const Model m{*tg::LstmCell::Create(store, {.input_size = 1, .hidden_size = kHidden}),
                *tg::Linear::Create(store, {.in_features = kHidden, .out_features = 1,
                                            .prefix = "head"})};
  tg::Adam adam(store, {.learning_rate = absl::GetFlag(FLAGS_outer_lr)});
  tg::Rng rng(absl::GetFlag(FLAGS_seed) + 1000);
  std::vector<Task> unseen;
  for (int i = 0; i < 100; ++i) unseen.push_back(DrawTask(rng));

  const Evaluation initial = Evaluate(store, m, unseen, alpha);
  std::printf("initial weights:      query loss %.4f, after one step %.4f\n", initial.before,
              initial.after);
  tg::Graph g;
  for (int step = 0; step < meta_steps; ++step) {
    g.Clear();
    tg::Expr meta_loss;
    for (int t = 0; t < num_tasks; ++t) {
      tg::Expr loss = AdaptedQueryLoss(g, store, m, DrawTask(rng), alpha);
      meta_loss = t == 0 ? loss : meta_loss + loss;
    }
    meta_loss = meta_loss * (1.0 / num_tasks);
    if (absl::Status s = tg::Backward(meta_loss); !s.ok()) {
      std::fprintf(stderr, "maml: %s\n", s.ToString().c_str());
      return 1;
    }
    tg::ClipGradNorm(store, 10.0);
    if (absl::Status s = adam.Step(); !s.ok()) {
      std::fprintf(stderr, "maml: %s\n", s.ToString().c_str());
      return 1;
    }
    store.ZeroGrad();
    if (step % 100 == 0 || step == meta_steps - 1) {
      std::printf("meta step %4d  meta loss %.4f\n", step, *meta_loss.Scalar());
    }
  }
  const Evaluation trained = Evaluate(store, m, unseen, alpha);
  std::printf("meta-trained weights: query loss %.4f, after one step %.4f\n", trained.before,
              trained.after);
  const bool learned = trained.after < initial.after / 2;
  std::printf("after one step: %.4f -> %.4f: %s\n", initial.after, trained.after,
              learned ? "meta-learned" : "did NOT meta-learn");
  return learned ? 0 : 1;
}
