#include "models/optimizers.h"

#include <cmath>
#include <functional>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "autodiff/backward.h"
#include "graph/graph.h"
#include "gtest/gtest.h"
#include "models/lr_schedule.h"
#include "ops/ops.h"
#include "testing/test_values.h"
#include "tests/models/param_values.h"

namespace tg {
namespace {

using test_util::AddParam;
using test_util::ExpectNear;
using test_util::SetGrad;
using testing::Values;

// One f64 parameter w0 = [1, -2, 0.5] and three known gradients. Expected values below were
// worked through by hand with torch.optim's formulas (a scalar transcription of PyTorch
// 1.13's single-tensor code gives the same digits).
const std::vector<double> kW0 = {1.0, -2.0, 0.5};
const std::vector<std::vector<double>> kGrads = {
    {0.1, -0.2, 0.3}, {0.4, 0.0, -0.1}, {-0.3, 0.2, 0.2}};

// Steps `opt` once per gradient in kGrads[0..n) and returns w.
std::vector<double> RunSteps(Optimizer& opt, Parameter w, int n = 3) {
  for (int t = 0; t < n; ++t) {
    SetGrad(w, kGrads[t]);
    EXPECT_TRUE(opt.Step().ok());
  }
  return Values(w.value());
}

// A fresh w = kW0, stepped `n` times by Opt(store, options); returns w.
template <class Opt, class Options>
std::vector<double> StepsFromW0(const Options& options, int n = 3) {
  ParameterStore store;
  Parameter w = AddParam(store, "w", kW0);
  Opt opt(store, options);
  return RunSteps(opt, w, n);
}

TEST(SgdTest, PlainStepsSubtractLrTimesGradient) {
  // w0 - 0.1 * (g1 + g2 + g3) = w0 - 0.1 * [0.2, 0, 0.4].
  ExpectNear(StepsFromW0<Sgd>(SgdOptions{.learning_rate = 0.1}), {0.98, -2.0, 0.46});
}

TEST(SgdTest, MomentumStartsFromTheFirstGradient) {
  // b1 = g1; b2 = 0.9 b1 + g2 = [0.49, -0.18, 0.17]; b3 = 0.9 b2 + g3 = [0.141, 0.038, 0.353];
  // w3 = w0 - 0.1 (b1 + b2 + b3) = w0 - 0.1 [0.731, -0.342, 0.823].
  ExpectNear(StepsFromW0<Sgd>(SgdOptions{.learning_rate = 0.1, .momentum = 0.9}),
             {0.9269, -1.9658, 0.4177});
}

TEST(SgdTest, NesterovAddsMomentumTimesBuffer) {
  // d_t = g_t + 0.9 b_t: sum = (g1+g2+g3) + 0.9 (b1+b2+b3) = [0.8579, -0.3078, 1.1407].
  ExpectNear(StepsFromW0<Sgd>(SgdOptions{.learning_rate = 0.1, .momentum = 0.9, .nesterov = true}),
             {0.91421, -1.96922, 0.38593});
}

TEST(SgdTest, WeightDecayAddsL2ToTheGradient) {
  ParameterStore store;
  Parameter w = AddParam(store, "w", kW0);
  Sgd sgd(store, {.learning_rate = 0.1, .weight_decay = 0.01});
  // d = g + 0.01 w, w -= 0.1 d: step 1 gives w1 = 0.999 w0 - 0.1 g1 = [0.989, -1.978, 0.4695].
  SetGrad(w, kGrads[0]);
  ASSERT_TRUE(sgd.Step().ok());
  ExpectNear(Values(w.value()), {0.989, -1.978, 0.4695});
  SetGrad(w, kGrads[1]);
  ASSERT_TRUE(sgd.Step().ok());
  SetGrad(w, kGrads[2]);
  ASSERT_TRUE(sgd.Step().ok());
  ExpectNear(Values(w.value()), {0.977062989, -1.994045978, 0.4585514695});
}

TEST(SgdTest, DampeningScalesLaterGradientsOnly) {
  ExpectNear(StepsFromW0<Sgd>(SgdOptions{
                 .learning_rate = 0.1, .momentum = 0.9, .weight_decay = 0.01, .dampening = 0.5}),
             {0.94577114725, -1.9475222945, 0.416175567375});
}

TEST(SgdTest, CreateNamesTheBadOption) {
  ParameterStore store;
  EXPECT_TRUE(Sgd::Create(store, {.momentum = 0.9, .nesterov = true}).ok());
  auto lr = Sgd::Create(store, {.learning_rate = -1});
  ASSERT_FALSE(lr.ok());
  EXPECT_NE(lr.status().message().find("learning_rate"), std::string::npos) << lr.status();
  auto mom = Sgd::Create(store, {.momentum = 1.0});
  ASSERT_FALSE(mom.ok());
  EXPECT_NE(mom.status().message().find("momentum"), std::string::npos) << mom.status();
  auto nes = Sgd::Create(store, {.nesterov = true});
  ASSERT_FALSE(nes.ok());
  EXPECT_NE(nes.status().message().find("nesterov"), std::string::npos) << nes.status();
  EXPECT_FALSE(Sgd::Create(store, {.weight_decay = std::nan("")}).ok());
}

TEST(SgdTest, PlainConstructorReportsBadOptionsFromStep) {
  ParameterStore store;
  Parameter w = AddParam(store, "w", kW0);
  SetGrad(w, kGrads[0]);
  Sgd bad(store, {.momentum = -0.5});
  EXPECT_EQ(bad.Step().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Values(w.value()), kW0);
  Sgd sgd(store, {});
  sgd.set_learning_rate(-0.1);  // e.g. a broken schedule
  EXPECT_EQ(sgd.Step().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Values(w.value()), kW0);
}

TEST(AdamTest, FirstStepMovesEachCoordinateByAboutLr) {
  // Bias correction makes m^ = g and v^ = g^2, so w1 = w0 - lr g / (|g| + eps).
  std::vector<double> want;
  for (int i = 0; i < 3; ++i) {
    double g = kGrads[0][i];
    want.push_back(kW0[i] - 0.01 * g / (std::abs(g) + 1e-8));
  }
  ExpectNear(StepsFromW0<Adam>(AdamOptions{.learning_rate = 0.01}, 1), want, 1e-15);
}

TEST(AdamTest, ThreeStepsMatchTorch) {
  // Coordinate 1 has g2 = 0: m and v decay but the step continues in the same direction.
  ExpectNear(StepsFromW0<Adam>(AdamOptions{.learning_rate = 0.01}),
             {0.9793891533789653, -1.9841580955244495, 0.4799669501576139});
}

TEST(AdamTest, WeightDecayIsAddedToTheGradient) {
  ExpectNear(StepsFromW0<Adam>(AdamOptions{.learning_rate = 0.01, .weight_decay = 0.1}),
             {0.9760467660273632, -1.97351315660055, 0.47725482552358767});
}

TEST(AdamTest, CreateRejectsBetasOutsideUnitInterval) {
  ParameterStore store;
  EXPECT_TRUE(Adam::Create(store, {.learning_rate = 2e-3}).ok());
  auto b1 = Adam::Create(store, {.beta1 = 1.0});
  ASSERT_FALSE(b1.ok());
  EXPECT_NE(b1.status().message().find("beta1"), std::string::npos) << b1.status();
  auto b2 = AdamW::Create(store, {.beta2 = -0.1});
  ASSERT_FALSE(b2.ok());
  EXPECT_NE(b2.status().message().find("AdamW: beta2"), std::string::npos) << b2.status();
  Adam bad(store, {.eps = -1});
  EXPECT_EQ(bad.Step().code(), absl::StatusCode::kInvalidArgument);
}

TEST(AdamWTest, DecoupledWeightDecayShrinksTheParameter) {
  ExpectNear(StepsFromW0<AdamW>(AdamWOptions{.learning_rate = 0.01, .weight_decay = 0.1}),
             {0.9764209861415688, -1.9781907841055175, 0.4784924418424881});
}

TEST(AdamWTest, DefaultWeightDecayIsOnePercent) {
  ParameterStore store;
  Parameter w = AddParam(store, "w", kW0);
  AdamW adamw(store);
  ASSERT_TRUE(adamw.Step().ok());  // zero gradient: only the decay p *= 1 - 1e-3 * 1e-2 acts
  ExpectNear(Values(w.value()), {1.0 - 1e-5, -2.0 + 2e-5, 0.5 - 5e-6}, 1e-15);
}

TEST(OptimizerTest, FrozenParameterIsUntouched) {
  ParameterStore store;
  Parameter w = AddParam(store, "w", kW0);
  Parameter f = AddParam(store, "f", kW0);
  f.set_frozen(true);
  Adam adam(store, {.learning_rate = 0.01});
  Sgd sgd(store, {.learning_rate = 0.1, .momentum = 0.9});
  for (int t = 0; t < 2; ++t) {
    SetGrad(w, kGrads[t]);
    SetGrad(f, kGrads[t]);
    ASSERT_TRUE(adam.Step().ok());
    ASSERT_TRUE(sgd.Step().ok());
  }
  EXPECT_EQ(Values(f.value()), kW0);
  EXPECT_NE(Values(w.value()), kW0);
  for (Optimizer* opt : {static_cast<Optimizer*>(&adam), static_cast<Optimizer*>(&sgd)}) {
    for (auto& [name, t] : opt->StateTensors()) {
      if (name.ends_with(".f")) {
        for (double v : Values(t)) EXPECT_EQ(v, 0) << name;
      }
    }
  }
}

TEST(OptimizerTest, F32ParameterMatchesF64) {
  ParameterStore store;
  Parameter w64 = AddParam(store, "w64", kW0);
  Parameter w32 = AddParam(store, "w32", kW0, DType::kF32);
  AdamW adamw(store, {.learning_rate = 0.01, .weight_decay = 0.1});
  Sgd sgd(store, {.learning_rate = 0.1, .momentum = 0.9, .nesterov = true});
  for (int t = 0; t < 3; ++t) {
    SetGrad(w64, kGrads[t]);
    SetGrad(w32, kGrads[t]);
    ASSERT_TRUE(adamw.Step().ok());
    ASSERT_TRUE(sgd.Step().ok());
  }
  for (auto& [name, t] : adamw.StateTensors()) {
    if (name.starts_with("optimizer.exp_avg") && name.ends_with(".w32")) {
      EXPECT_EQ(t.dtype(), DType::kF32) << name;
    }
  }
  ExpectNear(Values(w32.value()), Values(w64.value()), 1e-6);
}

TEST(OptimizerTest, PicksUpParametersAddedLater) {
  ParameterStore store;
  Parameter a = AddParam(store, "a", kW0);
  Adam adam(store, {.learning_rate = 0.01});
  SetGrad(a, kGrads[0]);
  ASSERT_TRUE(adam.Step().ok());
  // b's own step count starts at 1, as a new param group's would in PyTorch.
  Parameter b = AddParam(store, "b", kW0);
  SetGrad(b, kGrads[0]);
  ASSERT_TRUE(adam.Step().ok());
  ParameterStore fresh;
  Parameter c = AddParam(fresh, "c", kW0);
  Adam reference(fresh, {.learning_rate = 0.01});
  ExpectNear(Values(b.value()), RunSteps(reference, c, 1), 0);
}

std::vector<std::string> Names(Optimizer& opt) {
  std::vector<std::string> names;
  for (auto& [name, t] : opt.StateTensors()) names.push_back(name);
  return names;
}

TEST(OptimizerTest, StateTensorNames) {
  ParameterStore store;
  AddParam(store, "lstm.w", kW0);
  Sgd plain(store, {});
  EXPECT_EQ(Names(plain), std::vector<std::string>{"optimizer.step"});
  Sgd momentum(store, {.momentum = 0.5});
  EXPECT_EQ(Names(momentum),
            (std::vector<std::string>{"optimizer.step", "optimizer.momentum_buffer.lstm.w",
                                      "optimizer.step.lstm.w"}));
  Adam adam(store);
  EXPECT_EQ(Names(adam),
            (std::vector<std::string>{"optimizer.step", "optimizer.exp_avg.lstm.w",
                                      "optimizer.exp_avg_sq.lstm.w", "optimizer.step.lstm.w"}));
  auto tensors = adam.StateTensors();
  EXPECT_EQ(tensors[0].second.dtype(), DType::kF64);
  EXPECT_EQ(tensors[0].second.shape(), Shape({1}));
  EXPECT_EQ(tensors[1].second.shape(), Shape({3}));
  for (int i = 0; i < 2; ++i) ASSERT_TRUE(adam.Step().ok());
  EXPECT_EQ(Values(adam.StateTensors()[0].second), std::vector<double>{2});
}

// Runs 3 steps in A, copies A's values and state into a fresh B (as a checkpoint load would,
// before B's first Step), steps both once more and expects bitwise-equal parameters.
void ExpectResumeMatches(const std::function<std::unique_ptr<Optimizer>(ParameterStore&)>& make) {
  ParameterStore sa, sb;
  Parameter wa = AddParam(sa, "w", kW0), wb = AddParam(sb, "w", {0, 0, 0});
  std::unique_ptr<Optimizer> a = make(sa), b = make(sb);
  RunSteps(*a, wa, 3);
  ASSERT_TRUE(wb.value().CopyFrom(wa.value()).ok());
  auto from = a->StateTensors(), to = b->StateTensors();
  ASSERT_EQ(from.size(), to.size());
  for (size_t i = 0; i < from.size(); ++i) {
    ASSERT_EQ(from[i].first, to[i].first);
    ASSERT_TRUE(to[i].second.CopyFrom(from[i].second).ok());
  }
  for (Parameter w : {wa, wb}) SetGrad(w, {0.05, -0.5, 0.25});
  ASSERT_TRUE(a->Step().ok());
  ASSERT_TRUE(b->Step().ok());
  EXPECT_EQ(Values(wa.value()), Values(wb.value()));
}

TEST(OptimizerTest, ResumeFromStateTensorsMatchesUninterruptedRun) {
  ExpectResumeMatches([](ParameterStore& s) {
    return std::make_unique<Sgd>(s, SgdOptions{.learning_rate = 0.1, .momentum = 0.9});
  });
  ExpectResumeMatches([](ParameterStore& s) {
    return std::make_unique<Adam>(s, AdamOptions{.learning_rate = 0.01, .weight_decay = 0.1});
  });
  ExpectResumeMatches([](ParameterStore& s) {
    return std::make_unique<AdamW>(s, AdamWOptions{.learning_rate = 0.01});
  });
}

TEST(OptimizerTest, NanGradientStillSteps) {
  ParameterStore store;
  Parameter w = AddParam(store, "w", kW0);
  Sgd sgd(store, {.learning_rate = 0.1});
  SetGrad(w, {std::nan(""), 1.0, 0.0});
  EXPECT_TRUE(sgd.Step().ok());
  std::vector<double> v = Values(w.value());
  EXPECT_TRUE(std::isnan(v[0]));
  EXPECT_DOUBLE_EQ(v[1], -2.1);
}

TEST(OptimizerTest, AdamMinimizesAQuadraticThroughTheTape) {
  ParameterStore store;
  Parameter w = AddParam(store, "w", {0.5, -1.0, 2.0});
  const std::vector<double> target = {1.0, 2.0, 3.0};
  Adam adam(store, {.learning_rate = 0.1});
  Graph g;
  double loss_value = 0;
  for (int step = 0; step < 200; ++step) {
    g.Clear();
    Expr loss = Sum(Square(Sub(g.Param(w), g.Constant({3}, target))));
    ASSERT_TRUE(Backward(loss).ok()) << g.status();
    loss_value = *loss.Scalar();
    ASSERT_TRUE(adam.Step().ok());
    store.ZeroGrad();
  }
  EXPECT_LT(loss_value, 1e-6);
}

TEST(ClipGradNormTest, ReturnsPreClipNormAndScalesToMaxNorm) {
  ParameterStore store;
  Parameter a = AddParam(store, "a", {0, 0});
  Parameter b = AddParam(store, "b", {0}, DType::kF32);
  Parameter frozen = AddParam(store, "frozen", {0});
  frozen.set_frozen(true);
  SetGrad(a, {3, 4});
  SetGrad(b, {12});
  SetGrad(frozen, {100});  // not counted, not scaled
  EXPECT_DOUBLE_EQ(ClipGradNorm(store, 1.0), 13.0);
  double c = 1.0 / (13.0 + 1e-6);
  ExpectNear(Values(a.grad()), {3 * c, 4 * c}, 1e-15);
  ExpectNear(Values(b.grad()), {12 * c}, 1e-6);
  EXPECT_EQ(Values(frozen.grad()), std::vector<double>{100});
  EXPECT_NEAR(ClipGradNorm(store, 1.0), 1.0, 1e-6);
}

// Long enough for the eight running sums and a tail of 3, in both dtypes: every element
// counts once.
TEST(ClipGradNormTest, LongGradientsNormMatchesAnExactSum) {
  for (DType dtype : {DType::kF64, DType::kF32}) {
    ParameterStore store;
    std::vector<double> values(1003);
    long double exact = 0;
    for (size_t i = 0; i < values.size(); ++i) {
      values[i] = (i % 7 == 3 ? -1.0 : 1.0) * (0.25 + 0.001 * static_cast<double>(i));
      if (dtype == DType::kF32) values[i] = static_cast<float>(values[i]);  // as stored
      exact += static_cast<long double>(values[i]) * values[i];
    }
    Parameter a = AddParam(store, "a", std::vector<double>(values.size()), dtype);
    SetGrad(a, values);
    const double expected = std::sqrt(static_cast<double>(exact));
    EXPECT_NEAR(ClipGradNorm(store, 1e9), expected, expected * 1e-14) << DTypeName(dtype);
  }
}

TEST(ClipGradNormTest, NoOpAtOrBelowMaxNorm) {
  ParameterStore store;
  Parameter a = AddParam(store, "a", {0, 0});
  SetGrad(a, {3, 4});
  EXPECT_DOUBLE_EQ(ClipGradNorm(store, 5.0), 5.0);
  EXPECT_DOUBLE_EQ(ClipGradNorm(store, 10.0), 5.0);
  EXPECT_EQ(Values(a.grad()), (std::vector<double>{3, 4}));
}

TEST(ClipGradNormTest, NonFiniteNormLeavesGradientsUnchanged) {
  ParameterStore store;
  Parameter a = AddParam(store, "a", {0, 0});
  SetGrad(a, {std::numeric_limits<double>::infinity(), 4});
  EXPECT_TRUE(std::isinf(ClipGradNorm(store, 1.0)));
  EXPECT_EQ(Values(a.grad())[1], 4);
  SetGrad(a, {std::nan(""), 4});
  EXPECT_TRUE(std::isnan(ClipGradNorm(store, 1.0)));
  EXPECT_EQ(Values(a.grad())[1], 4);
}

TEST(LrScheduleTest, StepLrDecaysEveryStepSize) {
  StepLr s{.base_lr = 0.1, .step_size = 10, .gamma = 0.5};
  EXPECT_DOUBLE_EQ(s.At(0), 0.1);
  EXPECT_DOUBLE_EQ(s.At(9), 0.1);
  EXPECT_DOUBLE_EQ(s.At(10), 0.05);
  EXPECT_DOUBLE_EQ(s.At(25), 0.025);
  EXPECT_DOUBLE_EQ((StepLr{.base_lr = 1, .step_size = 3}.At(6)), 0.01);  // default gamma 0.1
}

TEST(LrScheduleTest, CosineLrFollowsTheClosedFormAndClamps) {
  CosineLr s{.base_lr = 0.1, .total_steps = 100, .min_lr = 0.01};
  EXPECT_DOUBLE_EQ(s.At(0), 0.1);
  EXPECT_DOUBLE_EQ(s.At(50), 0.055);
  EXPECT_NEAR(s.At(25), 0.01 + 0.09 * (1 + std::sqrt(0.5)) / 2, 1e-15);
  EXPECT_DOUBLE_EQ(s.At(100), 0.01);
  EXPECT_DOUBLE_EQ(s.At(1000), 0.01);
}

}  // namespace
}  // namespace tg
