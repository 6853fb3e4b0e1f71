// examples/time_series: the series it refuses (each naming the line or the sizes), the
// train / validation / test split, the per-window units, the baselines and the model's
// linear start.
#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>
#include <string>
#include <vector>

#include "autodiff/backward.h"
#include "base/random.h"
#include "examples/time_series/baselines.h"
#include "examples/time_series/blend.h"
#include "examples/time_series/compiled_update.h"
#include "examples/time_series/forecaster.h"
#include "examples/time_series/series.h"
#include "examples/time_series/training.h"
#include "examples/time_series/windows.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "models/losses.h"
#include "tests/examples/temp_file_util.h"

namespace tg::examples {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using test_util::WriteFile;

TimeSeriesOptions SmallOptions() {
  TimeSeriesOptions o;
  o.test_fraction = 0.2;
  o.valid_fraction = 0.2;
  o.window = 10;
  o.horizon = 3;
  o.scale_floor = 0.1;
  return o;
}

std::vector<double> Seasonal(int n, int period) {
  std::vector<double> y;
  for (int t = 0; t < n; ++t) {
    y.push_back(100 + 0.5 * t + 10 * std::sin(2 * std::numbers::pi * t / period));
  }
  return y;
}

TEST(TimeSeriesDataTest, AMissingCellNamesItsLine) {
  std::string path = WriteFile("missing.csv", "time,value\n1,5\n2,\n3,7\n");
  absl::StatusOr<Series> s = LoadSeries(path, "value", 0);
  EXPECT_THAT(s.status().message(), AllOf(HasSubstr("line 3"), HasSubstr("not a number")));
}

TEST(TimeSeriesDataTest, ANonNumericCellNamesItsLineAndText) {
  std::string path = WriteFile("text.csv", "time,value\n1,5\n2,6\n3,NA\n");
  absl::StatusOr<Series> s = LoadSeries(path, "value", 0);
  EXPECT_THAT(s.status().message(), AllOf(HasSubstr("line 4"), HasSubstr("\"NA\"")));
}

TEST(TimeSeriesDataTest, ATooShortSeriesNamesTheSizes) {
  // 30 samples: 6 test and 5 validation samples leave 19, too few for a window of 20.
  TimeSeriesOptions o = SmallOptions();
  o.window = 20;
  absl::StatusOr<WindowTask> task = MakeTask(Seasonal(30, 12), o);
  EXPECT_THAT(task.status().message(),
              AllOf(HasSubstr("too short: 30 samples minus 6 test and 5 validation samples"),
                    HasSubstr("window of 20 plus a horizon of 3"), HasSubstr("0 train windows")));
  // A horizon longer than the test part.
  o = SmallOptions();
  o.horizon = 8;
  EXPECT_THAT(MakeTask(Seasonal(30, 12), o).status().message(),
              HasSubstr("test part (6 samples)"));
}

TEST(TimeSeriesDataTest, AConstantSeriesIsRefused) {
  absl::StatusOr<WindowTask> task = MakeTask(std::vector<double>(100, 4.5), SmallOptions());
  EXPECT_THAT(task.status().message(), HasSubstr("constant (4.5)"));
}

TEST(TimeSeriesDataTest, NoNanReachesTraining) {
  std::vector<double> y = Seasonal(100, 12);
  y[42] = std::numeric_limits<double>::quiet_NaN();
  EXPECT_THAT(MakeTask(y, SmallOptions()).status().message(), HasSubstr("sample 42"));
}

TEST(TimeSeriesSplitTest, TrainValidationAndTestTargetsNeverOverlap) {
  absl::StatusOr<WindowTask> task = MakeTask(Seasonal(100, 12), SmallOptions());
  ASSERT_TRUE(task.ok()) << task.status();
  // 100 samples: test targets 80..99, validation targets 64..79, train targets 0..63.
  EXPECT_EQ(task->num_test, 20 - 3 + 1);
  EXPECT_EQ(task->num_valid, 16 - 3 + 1);
  EXPECT_EQ(task->num_train, 64 - 3 - 10 + 1);
  const int64_t h = task->horizon;
  EXPECT_EQ(task->target_index(task->num_train - 1, h), 63);
  EXPECT_EQ(task->target_index(task->valid_begin, 1), 64);
  EXPECT_EQ(task->target_index(task->valid_begin + task->num_valid - 1, h), 79);
  EXPECT_EQ(task->target_index(task->test_begin, 1), 80);
  EXPECT_EQ(task->target_index(task->test_begin + task->num_test - 1, h), 99);
}

TEST(TimeSeriesSplitTest, AFlatWindowGetsTheFloorAsItsScale) {
  std::vector<double> y = Seasonal(100, 12);
  for (int t = 30; t < 45; ++t) y[t] = 7;  // window 32 is flat
  absl::StatusOr<WindowTask> task = MakeTask(y, SmallOptions());
  ASSERT_TRUE(task.ok()) << task.status();
  EXPECT_DOUBLE_EQ(task->norms[32].scale, 0.1 * task->unit);
  for (double v : task->inputs[32]) EXPECT_EQ(v, 0);
}

TEST(TimeSeriesBaselinesTest, SeasonalNaiveIsExactOnAPeriodicSeries) {
  std::vector<double> y;
  for (int t = 0; t < 120; ++t) y.push_back(t % 6 == 0 ? 5.0 : static_cast<double>(t % 6));
  TimeSeriesOptions o = SmallOptions();
  absl::StatusOr<WindowTask> task = MakeTask(y, o);
  ASSERT_TRUE(task.ok()) << task.status();
  absl::StatusOr<Forecasts> seasonal = SeasonalNaiveForecasts(*task, 6);
  ASSERT_TRUE(seasonal.ok());
  EXPECT_THAT(NrmsePerStep(*task, task->test_begin, task->num_test, *seasonal),
              testing::Each(testing::DoubleNear(0, 1e-12)));
  // Persistence repeats the window's last value at every step.
  Forecasts persistence = PersistenceForecasts(*task);
  EXPECT_EQ(persistence[2], y[task->test_begin + task->window - 1]);
}

TEST(TimeSeriesBaselinesTest, TheNormalizedArFollowsATrendBeyondTheTrainingLevels) {
  // A rising line with a season: the test part lies above every training value. Shifted by
  // each window's level, the AR sees the same windows throughout and stays exact.
  std::vector<double> y;
  for (int t = 0; t < 200; ++t) y.push_back(3.0 * t + (t % 4 == 0 ? 2.0 : 0.0));
  absl::StatusOr<WindowTask> task = MakeTask(y, SmallOptions());
  ASSERT_TRUE(task.ok()) << task.status();
  absl::StatusOr<Forecasts> ar = NormalizedArForecasts(*task);
  ASSERT_TRUE(ar.ok()) << ar.status();
  for (double e : NrmsePerStep(*task, task->test_begin, task->num_test, *ar)) EXPECT_LT(e, 1e-4);
}

TEST(TimeSeriesModelTest, StartingFromTheLinearArForecastsAsTheAr) {
  absl::StatusOr<WindowTask> task = MakeTask(Seasonal(150, 12), SmallOptions());
  ASSERT_TRUE(task.ok()) << task.status();
  ParameterStore store({.seed = 3});
  absl::StatusOr<Forecaster> model = Forecaster::Create(
      store, {.input_size = task->input_size(), .horizon = task->horizon, .hidden = 8});
  ASSERT_TRUE(model.ok()) << model.status();
  const int64_t fitted = task->valid_begin + task->num_valid;
  absl::StatusOr<LinearFit> fit = FitNormalizedAr(*task, fitted);
  ASSERT_TRUE(fit.ok()) << fit.status();
  ASSERT_TRUE(model->StartFromLinear(store, *fit).ok());
  Graph g({.mode = ExecMode::kInference});
  absl::StatusOr<Forecasts> lstm =
      ForecastWindows(*model, *task, task->test_begin, task->num_test, g);
  absl::StatusOr<Forecasts> ar = NormalizedArForecasts(*task);
  ASSERT_TRUE(lstm.ok() && ar.ok());
  ASSERT_EQ(lstm->size(), ar->size());
  for (size_t i = 0; i < ar->size(); ++i) EXPECT_NEAR((*lstm)[i], (*ar)[i], 1e-3 * task->unit) << i;
  // A fit of other sizes cannot start it.
  LinearFit wrong{.inputs = 3, .outputs = 1, .weights = std::vector<double>(4)};
  EXPECT_THAT(model->StartFromLinear(store, wrong).message(), HasSubstr("3 inputs and 1 outputs"));
}

TEST(TimeSeriesTrainingTest, ParallelMembersMatchSerialOnesAndKeepTheBestValidation) {
  TimeSeriesOptions o = SmallOptions();
  absl::StatusOr<WindowTask> task = MakeTask(Seasonal(120, 12), o);
  ASSERT_TRUE(task.ok()) << task.status();
  // 120 samples: 65 train windows, a pass of 3 updates of 32; validation after every pass.
  ASSERT_EQ(task->num_train, 65);
  const TrainOptions train{.hidden = 4, .batch = 32, .steps = 30, .eval_every = 100};
  absl::StatusOr<std::vector<MemberResult>> serial = TrainEnsemble(*task, train, {5, 6}, 1);
  absl::StatusOr<std::vector<MemberResult>> parallel = TrainEnsemble(*task, train, {5, 6}, 2);
  ASSERT_TRUE(serial.ok() && parallel.ok());
  ASSERT_EQ(serial->size(), 2u);
  for (size_t m = 0; m < 2; ++m) {
    const MemberResult& a = (*serial)[m];
    EXPECT_EQ(a.seed, 5 + m);
    EXPECT_EQ(a.test, (*parallel)[m].test) << "member " << m;
    EXPECT_EQ(a.test.size(), static_cast<size_t>(task->num_test * task->horizon));
    double best = 1e300;
    for (const CurvePoint& p : a.curve) {
      EXPECT_EQ(p.step % 3, 0) << "evaluated every pass of 3 updates";
      best = std::min(best, p.valid_nrmse);
    }
    EXPECT_EQ(a.curve.size(), 11u);  // the start, then every 3 updates up to 30
    EXPECT_DOUBLE_EQ(a.best_valid_nrmse, best);
  }
  EXPECT_NE((*serial)[0].test, (*serial)[1].test);  // two seeds, two models
}

TEST(TimeSeriesSplitTest, TheLevelInputClipsValidationLevelsBeyondTheTrainPart) {
  // A rising series: the validation part lies above every train sample, so its level input
  // reads as the train part's highest, as the test part's does; selection on validation
  // then meets the unseen levels the test part will.
  std::vector<double> y;
  for (int t = 0; t < 100; ++t) y.push_back(t + (t % 2 == 0 ? 0.5 : 0.0));
  absl::StatusOr<WindowTask> task = MakeTask(y, SmallOptions());
  ASSERT_TRUE(task.ok()) << task.status();
  const int64_t first_valid = task->target_index(task->valid_begin, 1);
  EXPECT_LT(task->Standardized(first_valid - 2), task->high);
  EXPECT_EQ(task->Standardized(first_valid - 1), task->high);  // the train part's highest
  EXPECT_EQ(task->Standardized(first_valid), task->high);
  EXPECT_EQ(task->Standardized(99), task->high);
}

TEST(TimeSeriesModelTest, TheCompiledUpdateComputesTheEagerLossAndGradients) {
  absl::StatusOr<WindowTask> task = MakeTask(Seasonal(150, 12), SmallOptions());
  ASSERT_TRUE(task.ok()) << task.status();
  ParameterStore store({.seed = 4});
  absl::StatusOr<Forecaster> model = Forecaster::Create(
      store, {.input_size = task->input_size(), .horizon = task->horizon, .hidden = 8});
  ASSERT_TRUE(model.ok()) << model.status();
  const std::vector<int64_t> ids = {3, 17, 40, 8};
  std::vector<double> y;
  for (int64_t w : ids) {
    for (int64_t k = 1; k <= task->horizon; ++k) y.push_back(task->ToUnits(w, task->target(w, k)));
  }
  Graph g;
  Expr loss = MseLoss(model->Predict(g, *task, ids),
                      HostConstant(g, {4, task->horizon}, y, DType::kF32));
  ASSERT_TRUE(Backward(loss).ok());
  const double eager_loss = *loss.Scalar();
  std::vector<std::vector<float>> eager_grads;
  for (const Parameter& p : store.parameters()) {
    const float* d = p.grad().data<float>();
    eager_grads.emplace_back(d, d + p.grad().shape().num_elements());
  }
  store.ZeroGrad();
  absl::StatusOr<CompiledUpdate> update = CompiledUpdate::Create(*model, *task, 4, 1, "", {});
  ASSERT_TRUE(update.ok()) << update.status();
  // Twice: a replay with the same batch gives the same again (nothing left from the first).
  for (int run = 0; run < 2; ++run) {
    store.ZeroGrad();
    absl::StatusOr<double> compiled_loss = update->Run(*task, ids, y);
    ASSERT_TRUE(compiled_loss.ok()) << compiled_loss.status();
    EXPECT_NEAR(*compiled_loss, eager_loss, 1e-6 * std::abs(eager_loss) + 1e-9);
    const std::vector<Parameter> params = store.parameters();
    for (size_t i = 0; i < params.size(); ++i) {
      const float* d = params[i].grad().data<float>();
      float scale = 1e-6f;
      for (float v : eager_grads[i]) scale = std::max(scale, std::abs(v));
      for (size_t j = 0; j < eager_grads[i].size(); ++j) {
        ASSERT_NEAR(d[j], eager_grads[i][j], 1e-4f * scale) << params[i].name() << " " << j;
      }
    }
  }
  // Another batch size is refused, naming both.
  EXPECT_THAT(update->Run(*task, {1, 2}, y).status().message(),
              HasSubstr("takes 4 windows and 12 targets, not 2 and 12"));
}

TEST(TimeSeriesTrainingTest, MembersTrainOnTheirOwnNormalisationAndKeepTheirValidationForecasts) {
  TimeSeriesOptions o = SmallOptions();
  o.norm.level = WindowLevel::kMean;
  absl::StatusOr<WindowTask> by_mean = MakeTask(Seasonal(120, 12), o);
  o.norm.level = WindowLevel::kLast;
  absl::StatusOr<WindowTask> by_last = MakeTask(Seasonal(120, 12), o);
  ASSERT_TRUE(by_mean.ok() && by_last.ok());
  // Without the linear start (an AR with an intercept forecasts alike whichever level the
  // window is shifted by) the LSTM's part differs from the first update.
  const TrainOptions train{
      .hidden = 4, .batch = 32, .steps = 12, .eval_every = 100, .start_from_linear = false};
  // The same seed on two normalisations: two different models.
  absl::StatusOr<std::vector<MemberResult>> members =
      TrainEnsemble({&*by_mean, &*by_last}, train, {5, 5}, 1);
  ASSERT_TRUE(members.ok()) << members.status();
  EXPECT_NE((*members)[0].test, (*members)[1].test);
  // The member with the mean level is the model a one-task ensemble trains.
  absl::StatusOr<std::vector<MemberResult>> alone = TrainEnsemble(*by_mean, train, {5}, 1);
  ASSERT_TRUE(alone.ok());
  EXPECT_EQ((*alone)[0].test, (*members)[0].test);
  // Each keeps its validation forecasts with the weights of its best validation score.
  for (const MemberResult& m : *members) {
    ASSERT_EQ(m.valid.size(), static_cast<size_t>(by_mean->num_valid * by_mean->horizon));
    EXPECT_NEAR(MeanOf(NrmsePerStep(*by_mean, by_mean->valid_begin, by_mean->num_valid, m.valid)),
                m.best_valid_nrmse, 1e-5);
  }
  EXPECT_FALSE(TrainEnsemble({&*by_mean}, train, {5, 6}, 1).ok());
}

TEST(TimeSeriesBlendTest, TheEnsembleWeighsWhatValidationFavours) {
  // A periodic series that seasonal naive forecasts exactly: validation gives it all the
  // weight over a model that is off by one everywhere, and the test forecast is its own.
  std::vector<double> y;
  for (int t = 0; t < 120; ++t) y.push_back(t % 6 == 0 ? 5.0 : static_cast<double>(t % 6));
  absl::StatusOr<WindowTask> task = MakeTask(y, SmallOptions());
  ASSERT_TRUE(task.ok()) << task.status();
  MemberResult off;
  off.valid = task->Targets(task->valid_begin, task->num_valid);
  off.test = task->Targets(task->test_begin, task->num_test);
  for (double& v : off.valid) v += 1;
  for (double& v : off.test) v += 1;
  absl::StatusOr<BlendedForecast> blend = BlendEnsemble(*task, {off}, {"model"}, 6);
  ASSERT_TRUE(blend.ok()) << blend.status();
  ASSERT_EQ(blend->names.size(), 3u);
  EXPECT_EQ(blend->names[2], "seasonal naive");
  EXPECT_EQ(blend->choice.weights[2], 1);
  EXPECT_EQ(blend->test, *SeasonalNaiveForecasts(*task, 6));
  EXPECT_NEAR(blend->valid_blend, 0, 1e-12);
}

TEST(TimeSeriesBlendTest, AModelExactOnEveryValidationFoldKeepsAllTheWeight) {
  // The periodic series with noise, so that seasonal naive errs: a model exact on the
  // validation windows gains on every one of the 9 folds and keeps all the weight.
  Rng rng(21);
  std::vector<double> y;
  for (int t = 0; t < 240; ++t) {
    y.push_back((t % 6 == 0 ? 5.0 : static_cast<double>(t % 6)) + 0.3 * rng.Normal());
  }
  absl::StatusOr<WindowTask> task = MakeTask(y, SmallOptions());
  ASSERT_TRUE(task.ok()) << task.status();
  MemberResult exact;
  exact.valid = task->Targets(task->valid_begin, task->num_valid);
  exact.test = task->Targets(task->test_begin, task->num_test);
  for (double& v : exact.test) v += 1;
  absl::StatusOr<BlendedForecast> blend = BlendEnsemble(*task, {exact}, {"model"}, 6);
  ASSERT_TRUE(blend.ok()) << blend.status();
  EXPECT_EQ(blend->choice.folds, 9);
  EXPECT_EQ(blend->choice.share, 1);
  EXPECT_EQ(blend->choice.weights[0], 1);
  EXPECT_EQ(blend->test, exact.test);
}

// An AR(2) series with noise: the linear forecast is the best there is.
std::vector<double> LinearSeries(int n, uint64_t seed) {
  Rng rng(seed);
  std::vector<double> y = {0, 0};
  for (int t = 2; t < n; ++t) y.push_back(0.6 * y[t - 1] - 0.3 * y[t - 2] + rng.Normal());
  return y;
}

TEST(TimeSeriesBlendTest, ATinyValidationSetLeavesHalfTheWeightOnTheLinearAnchor) {
  // 300 samples, 8 of them validation targets: 6 validation windows of 3 steps, too few for
  // 3 folds of windows that share no target. A model exact on them (lucky) but off by 2 on
  // every test target would take all the weight by validation alone; here it gets half, and
  // the anchor the rest: mostly the normalised AR, which the rolling-origin windows prefer
  // to seasonal naive on a linear series.
  TimeSeriesOptions o = SmallOptions();
  o.valid_fraction = 8.0 / 240;
  absl::StatusOr<WindowTask> task = MakeTask(LinearSeries(300, 4), o);
  ASSERT_TRUE(task.ok()) << task.status();
  ASSERT_EQ(task->num_valid, 6);
  MemberResult lucky;
  lucky.valid = task->Targets(task->valid_begin, task->num_valid);
  absl::StatusOr<Forecasts> ar = NormalizedArForecasts(*task);
  ASSERT_TRUE(ar.ok()) << ar.status();
  lucky.test = *ar;
  for (double& v : lucky.test) v += 2;
  absl::StatusOr<BlendedForecast> blend = BlendEnsemble(*task, {lucky}, {"model"}, 4);
  ASSERT_TRUE(blend.ok()) << blend.status();
  EXPECT_EQ(blend->names[1], "linear AR(10) normalised");
  EXPECT_EQ(blend->choice.selected[0], 1);
  EXPECT_EQ(blend->choice.folds, 0);
  EXPECT_GE(blend->anchor[1], 0.9);
  EXPECT_EQ(blend->choice.share, 0.5);
  const std::vector<double>& w = blend->choice.weights;
  EXPECT_EQ(w[0], 0.5);
  EXPECT_DOUBLE_EQ(w[1], 0.5 * blend->anchor[1]);
  EXPECT_DOUBLE_EQ(w[2], 0.5 * blend->anchor[2]);
  absl::StatusOr<Forecasts> seasonal = SeasonalNaiveForecasts(*task, 4);
  ASSERT_TRUE(seasonal.ok());
  ASSERT_EQ(blend->test.size(), ar->size());
  for (size_t i = 0; i < ar->size(); ++i) {
    EXPECT_NEAR(blend->test[i], 0.5 * ((*ar)[i] + 2) + w[1] * (*ar)[i] + w[2] * (*seasonal)[i],
                1e-9)
        << i;
  }
}

TEST(TimeSeriesBlendTest, OnALinearSeriesTheEnsembleForecastsAsWellAsTheBetterLinearAr) {
  // Two small LSTMs trained on a long AR(2) series whose best forecast is linear (the AR on
  // levels; the normalised AR's coefficients sum to 1, a unit root this series lacks):
  // whatever they learn, the ensemble is within 2% of the better AR on the test windows.
  TimeSeriesOptions o = SmallOptions();
  absl::StatusOr<WindowTask> task = MakeTask(LinearSeries(1500, 8), o);
  ASSERT_TRUE(task.ok()) << task.status();
  const TrainOptions train{.hidden = 8, .batch = 32, .steps = 300, .eval_every = 50};
  absl::StatusOr<std::vector<MemberResult>> members = TrainEnsemble(*task, train, {1, 2}, 1);
  ASSERT_TRUE(members.ok()) << members.status();
  absl::StatusOr<BlendedForecast> blend =
      BlendEnsemble(*task, *members, {"model 1", "model 2"}, 1);
  ASSERT_TRUE(blend.ok()) << blend.status();
  EXPECT_GE(blend->choice.folds, 3);
  absl::StatusOr<Forecasts> normalised = NormalizedArForecasts(*task);
  absl::StatusOr<Forecasts> levels = LevelsArForecasts(*task);
  ASSERT_TRUE(normalised.ok() && levels.ok());
  auto score = [&](const Forecasts& f) {
    return MeanOf(NrmsePerStep(*task, task->test_begin, task->num_test, f));
  };
  const double better = std::min(score(*normalised), score(*levels));
  EXPECT_LT(score(blend->test), 1.02 * better) << "the better AR: " << better;
}

TEST(TimeSeriesBlendTest, TheAnchorWeighsTheSimpleForecastersOnRollingOriginWindows) {
  // A rising line with a season of 4: the normalised AR is exact on it, seasonal naive is
  // off by the trend, and the anchor is all AR.
  std::vector<double> y;
  for (int t = 0; t < 200; ++t) y.push_back(3.0 * t + (t % 4 == 0 ? 2.0 : 0.0));
  absl::StatusOr<WindowTask> task = MakeTask(y, SmallOptions());
  ASSERT_TRUE(task.ok()) << task.status();
  MemberResult model;
  model.valid = task->Targets(task->valid_begin, task->num_valid);
  model.test = task->Targets(task->test_begin, task->num_test);
  for (double& v : model.valid) v += 5;
  absl::StatusOr<BlendedForecast> blend = BlendEnsemble(*task, {model}, {"model"}, 4);
  ASSERT_TRUE(blend.ok()) << blend.status();
  EXPECT_THAT(blend->anchor, testing::ElementsAre(0, 1, 0));
  EXPECT_LT(blend->rolling_nrmse[1], 1e-4);
  EXPECT_GT(blend->rolling_nrmse[2], 0.1);
  EXPECT_TRUE(std::isnan(blend->rolling_nrmse[0]));
  const RollingOrigin origin = RollingOriginFor(*task);
  EXPECT_EQ(blend->rolling_windows, origin.end - origin.begin);
}

TEST(TimeSeriesBaselinesTest, RollingForecastsAreFittedOnTheWindowsBeforeEachBlock) {
  absl::StatusOr<WindowTask> task = MakeTask(LinearSeries(600, 5), SmallOptions());
  ASSERT_TRUE(task.ok()) << task.status();
  const RollingOrigin origin = RollingOriginFor(*task);
  // The first fit holds half the train windows; the last block ends with the validation
  // windows; at most 40 fits.
  EXPECT_EQ(origin.begin, task->num_train / 2 + task->horizon - 1);
  EXPECT_EQ(origin.end, task->valid_begin + task->num_valid);
  EXPECT_LE((origin.end - origin.begin + origin.refit_every - 1) / origin.refit_every, 40);
  EXPECT_GT(origin.refit_every, 1);
  absl::StatusOr<Forecasts> rolling =
      RollingForecasts(*task, origin, [](const WindowTask& t, int64_t fit, int64_t b, int64_t n) {
        return NormalizedArForecasts(t, fit, b, n);
      });
  ASSERT_TRUE(rolling.ok()) << rolling.status();
  ASSERT_EQ(rolling->size(), static_cast<size_t>((origin.end - origin.begin) * task->horizon));
  // Each block equals the AR fitted on the windows whose targets all precede it (window
  // b - horizon is the last: its last target is b's first one minus 1).
  const int64_t h = task->horizon;
  for (int64_t b = origin.begin; b < origin.end; b += origin.refit_every) {
    const int64_t n = std::min(origin.refit_every, origin.end - b);
    EXPECT_EQ(task->target_index(b - h, h) + 1, task->target_index(b, 1));
    absl::StatusOr<Forecasts> block = NormalizedArForecasts(*task, b - h + 1, b, n);
    ASSERT_TRUE(block.ok());
    for (int64_t i = 0; i < n * h; ++i) {
      EXPECT_EQ((*rolling)[(b - origin.begin) * h + i], (*block)[i]) << b << " " << i;
    }
  }
}

}  // namespace
}  // namespace tg::examples
