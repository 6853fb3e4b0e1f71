// examples/time_series: the series it refuses (each naming the line or the sizes), the
// train / validation / test split, the per-window units, the baselines and the model's
// linear start.
#include <cmath>
#include <limits>
#include <numbers>
#include <string>
#include <vector>

#include "examples/time_series/baselines.h"
#include "examples/time_series/forecaster.h"
#include "examples/time_series/series.h"
#include "examples/time_series/training.h"
#include "examples/time_series/windows.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
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

}  // namespace
}  // namespace tg::examples
