#include "models/weight_average.h"

#include <unistd.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "fmt/format.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "models/checkpoint.h"
#include "models/optimizers.h"
#include "testing/test_values.h"
#include "tests/models/param_values.h"

namespace tg {
namespace {

using ::testing::HasSubstr;
using tg::test_util::ExpectNear;
using tg::test_util::SetGrad;
using tg::testing::Values;

// w0 = [1, -2, 0.5] stepped by Sgd with lr 1 (w -= g): the weights after each step are
// w1 = [0.9, -1.8, 0.2], w2 = [0.5, -1.8, 0.3], w3 = [0.8, -2.0, 0.1].
const std::vector<std::vector<double>> kGrads = {
    {0.1, -0.2, 0.3}, {0.4, 0.0, -0.1}, {-0.3, 0.2, 0.2}};

const std::vector<double> kW0 = {1.0, -2.0, 0.5};

void StepAll(WeightAverage& average, const Parameter& w) {
  for (const auto& g : kGrads) {
    SetGrad(w, g);
    ASSERT_TRUE(average.Step().ok());
  }
}

TEST(WeightAverageTest, FollowsTheWarmedUpDecayAndLeavesTheWeightsToTheOptimizer) {
  for (DType dtype : {DType::kF64, DType::kF32}) {
    ParameterStore store;
    Parameter w = test_util::AddParam(store, "w", kW0, dtype);
    Sgd sgd(store, {.learning_rate = 1.0});
    // decay 0.3: step 2 keeps min(0.3, 3/12) = 0.25 (the warm-up), step 3 keeps 0.3.
    WeightAverage average(store, sgd, {.decay = 0.3});
    StepAll(average, w);
    const double tol = dtype == DType::kF64 ? 1e-15 : 1e-6;
    ExpectNear(Values(w), {0.8, -2.0, 0.1}, tol);  // w3: the optimizer's own result
    average.Swap();
    // avg1 = w1; avg2 = avg1 + 0.75 (w2 - avg1) = [0.6, -1.8, 0.275];
    // avg3 = avg2 + 0.7 (w3 - avg2) = [0.74, -1.94, 0.1525].
    ExpectNear(Values(w), {0.74, -1.94, 0.1525}, tol);
    average.Swap();
    ExpectNear(Values(w), {0.8, -2.0, 0.1}, tol);
  }
}

TEST(WeightAverageTest, SwappedGuardRestoresTheWeightsBitwiseAndStepWaitsForIt) {
  ParameterStore store;
  Parameter w = test_util::AddParam(store, "w", kW0, DType::kF32);
  Adam adam(store, {.learning_rate = 0.1});
  WeightAverage average(store, adam, {.decay = 0.9});
  StepAll(average, w);
  const std::vector<double> trained = Values(w);
  {
    WeightAverage::Swapped use(average);
    EXPECT_TRUE(average.swapped());
    EXPECT_NE(Values(w), trained);
    const std::vector<double> averaged = Values(w);
    SetGrad(w, kGrads[0]);
    absl::Status s = average.Step();
    EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
    EXPECT_THAT(s.message(), HasSubstr("swapped in"));
    EXPECT_EQ(Values(w), averaged);  // the inner optimizer did not step either
  }
  EXPECT_FALSE(average.swapped());
  EXPECT_EQ(Values(w), trained);
}

TEST(WeightAverageTest, FrozenAndLaterParametersKeepTheirValues) {
  ParameterStore store;
  Parameter w = test_util::AddParam(store, "w", kW0);
  Parameter frozen = test_util::AddParam(store, "frozen", kW0);
  frozen.set_frozen(true);
  Sgd sgd(store, {.learning_rate = 1.0});
  WeightAverage average(store, sgd, {.decay = 0.5});
  StepAll(average, w);
  Parameter later = test_util::AddParam(store, "later", kW0);
  average.Swap();
  EXPECT_NE(Values(w), std::vector<double>({0.8, -2.0, 0.1}));
  EXPECT_EQ(Values(frozen), std::vector<double>({1.0, -2.0, 0.5}));
  EXPECT_EQ(Values(later), std::vector<double>({1.0, -2.0, 0.5}));
}

TEST(WeightAverageTest, RejectsADecayOutsideTheUnitIntervalWithoutStepping) {
  for (double bad : {1.0, -0.1, std::numeric_limits<double>::quiet_NaN()}) {
    absl::Status s = WeightAverage::Validate({.decay = bad});
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(s.message(), HasSubstr("WeightAverage: decay must be in [0, 1)"));
    ParameterStore store;
    Parameter w = test_util::AddParam(store, "w", kW0);
    Sgd sgd(store, {.learning_rate = 1.0});
    WeightAverage average(store, sgd, {.decay = bad});
    SetGrad(w, kGrads[0]);
    EXPECT_FALSE(average.Step().ok());
    EXPECT_EQ(Values(w), std::vector<double>({1.0, -2.0, 0.5}));
  }
  EXPECT_TRUE(WeightAverage::Validate({.decay = 0}).ok());
}

TEST(WeightAverageTest, PassesTheLearningRateThrough) {
  ParameterStore store;
  test_util::AddParam(store, "w", kW0);
  Adam adam(store, {.learning_rate = 0.1});
  WeightAverage average(store, adam);
  average.set_learning_rate(0.02);
  EXPECT_EQ(adam.learning_rate(), 0.02);
  EXPECT_EQ(average.learning_rate(), 0.02);
}

TEST(WeightAverageTest, CheckpointCarriesTheAverageBesideTheInnerState) {
  const std::string path =
      fmt::format("{}/tg_weight_average_{}.safetensors", ::testing::TempDir(), ::getpid());
  ParameterStore saved;
  Parameter w = test_util::AddParam(saved, "w", kW0, DType::kF32);
  Adam adam(saved, {.learning_rate = 0.1});
  WeightAverage average(saved, adam, {.decay = 0.9});
  StepAll(average, w);

  std::vector<std::string> names;
  for (const auto& [name, tensor] : average.StateTensors()) names.push_back(name);
  EXPECT_THAT(names, ::testing::ElementsAre(
                         "optimizer.step", "optimizer.exp_avg.w", "optimizer.exp_avg_sq.w",
                         "optimizer.step.w", "optimizer.average.step",
                         "optimizer.average.value.w", "optimizer.average.step.w"));
  ASSERT_TRUE(SaveCheckpoint(path, saved, &average).ok());

  ParameterStore loaded;
  Parameter v = test_util::AddParam(loaded, "w", kW0, DType::kF32);
  Adam adam2(loaded, {.learning_rate = 0.1});
  WeightAverage average2(loaded, adam2, {.decay = 0.9});
  absl::Status s = LoadCheckpoint(path, loaded, &average2);
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_EQ(Values(v), Values(w));
  average.Swap();
  average2.Swap();
  EXPECT_EQ(Values(v), Values(w));

  // The plain optimizer does not know the average's tensors: refused, naming them.
  ParameterStore plain;
  test_util::AddParam(plain, "w", kW0, DType::kF32);
  Adam adam3(plain, {.learning_rate = 0.1});
  s = LoadCheckpoint(path, plain, &adam3);
  EXPECT_FALSE(s.ok());
  EXPECT_THAT(s.message(), HasSubstr("'optimizer.average.value.w'"));
  std::remove(path.c_str());
}

}  // namespace
}  // namespace tg
