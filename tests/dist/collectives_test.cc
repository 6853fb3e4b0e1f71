// The Communicator and the collectives of dist/, on every rank of an mpirun job.
#include <chrono>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include <mpi.h>

#include "gtest/gtest.h"
#include "models/optimizers.h"
#include "tests/dist/mpi_test_env.h"
#include "testing/test_values.h"

namespace tg::testing {
namespace {

bool IsLastRank() { return World().rank() == World().size() - 1; }

TEST(CommunicatorTest, KnowsItsRankAndTheRanksOnThisMachine) {
  int world_rank = -1, world_size = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &world_rank);
  MPI_Comm_size(MPI_COMM_WORLD, &world_size);
  EXPECT_EQ(World().rank(), world_rank);
  EXPECT_EQ(World().size(), world_size);
  EXPECT_GE(World().size(), 2) << "run under mpirun -np 2 or more";
  // The tests run on one machine: every rank is local.
  EXPECT_EQ(World().local_size(), world_size);
  EXPECT_EQ(World().local_rank(), world_rank);
  EXPECT_EQ(World().is_root(), world_rank == 0);
}

TEST(CommunicatorTest, WrapsACallersCommunicatorInAPrivateCopy) {
  auto comm = Communicator::Wrap(MPI_COMM_WORLD, {.deadline = absl::Seconds(30)});
  ASSERT_TRUE(comm.ok()) << comm.status();
  EXPECT_EQ((*comm)->rank(), World().rank());
  EXPECT_NE((*comm)->comm(), MPI_COMM_WORLD);
  int compare = MPI_IDENT;
  MPI_Comm_compare((*comm)->comm(), MPI_COMM_WORLD, &compare);
  EXPECT_EQ(compare, MPI_CONGRUENT);  // same ranks, another context: no message crosses over
  EXPECT_EQ((*comm)->deadline(), absl::Seconds(30));
  EXPECT_EQ((*comm)->operations(), 1);  // setting up is a collective under the deadline too
}

TEST(CommunicatorTest, RefusesANullCommunicatorAndANonPositiveDeadline) {
  auto null = Communicator::Wrap(MPI_COMM_NULL);
  EXPECT_EQ(null.status().code(), absl::StatusCode::kInvalidArgument);
  auto zero = Communicator::Wrap(MPI_COMM_WORLD, {.deadline = absl::ZeroDuration()});
  EXPECT_EQ(zero.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(zero.status().message().find("deadline must be positive"), std::string::npos);
}

TEST(CommunicatorTest, RefusesAThreadLevelMpiDoesNotProvide) {
  int provided = 0;
  MPI_Query_thread(&provided);
  if (provided == MPI_THREAD_MULTIPLE) GTEST_SKIP() << "MPI provides every thread level";
  auto comm = Communicator::Wrap(MPI_COMM_WORLD, {.thread_level = MPI_THREAD_MULTIPLE});
  EXPECT_EQ(comm.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(comm.status().message().find("MPI_THREAD_MULTIPLE is required"), std::string::npos)
      << comm.status();
}

// Rank r's values: uniform draws of magnitudes that differ by rank, so that the order of the
// additions shows in the last bits.
template <class T>
std::vector<T> ValuesOf(int rank, int64_t n) {
  std::vector<T> v;
  for (double x : UniformValues(n, 50 + rank)) v.push_back(static_cast<T>(x * std::pow(10.0, rank % 3)));
  return v;
}

// ((v_0 + v_1) + ... + v_{P-1}) / P in T, or in the reverse rank order.
template <class T>
std::vector<T> MeanInOrder(int ranks, int64_t n, bool reverse) {
  std::vector<T> sum(n, 0);
  for (int k = 0; k < ranks; ++k) {
    const std::vector<T> v = ValuesOf<T>(reverse ? ranks - 1 - k : k, n);
    for (int64_t i = 0; i < n; ++i) sum[i] = k == 0 ? v[i] : sum[i] + v[i];
  }
  for (T& x : sum) x /= static_cast<T>(ranks);
  return sum;
}

template <class T>
bool SameBits(const std::vector<T>& a, const std::vector<T>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(T)) == 0;
}

TEST(AllReduceTest, TheMeanIsTheRankOrderSumOnEveryRankBitForBit) {
  const int ranks = World().size();
  constexpr int64_t kFloats = 1001, kDoubles = 777;  // odd: the last chunks are padded
  std::vector<float> f = ValuesOf<float>(World().rank(), kFloats);
  std::vector<double> d = ValuesOf<double>(World().rank(), kDoubles);
  const std::vector<Tensor> tensors = {Tensor(f.data(), DType::kF32, {kFloats}),
                                       Tensor(d.data(), DType::kF64, {kDoubles})};
  // Small buckets: several per dtype, each cut into one chunk per rank.
  ASSERT_TRUE(AllReduceMean(World(), tensors, {.bucket_bytes = 1000}).ok());
  EXPECT_TRUE(SameBits(f, MeanInOrder<float>(ranks, kFloats, false)));
  EXPECT_TRUE(SameBits(d, MeanInOrder<double>(ranks, kDoubles, false)));
  if (ranks >= 3) {  // the order is visible: another order gives other bits
    EXPECT_FALSE(SameBits(d, MeanInOrder<double>(ranks, kDoubles, true)));
  }
}

TEST(AllReduceTest, TheBucketSizeDoesNotChangeABit) {
  std::vector<double> small = ValuesOf<double>(World().rank(), 5000), large = small;
  ASSERT_TRUE(AllReduceMean(World(), {Tensor(small.data(), DType::kF64, {5000})}, {.bucket_bytes = 64}).ok());
  ASSERT_TRUE(AllReduceMean(World(), {Tensor(large.data(), DType::kF64, {5000})}).ok());
  EXPECT_TRUE(SameBits(small, large));
}

TEST(AllReduceTest, RidersAreTheRankOrderMeanWithoutChangingTheGradientsMean) {
  const int ranks = World().size();
  constexpr int64_t kFloats = 1001, kRiders = 3;
  std::vector<float> with = ValuesOf<float>(World().rank(), kFloats), without = with;
  std::vector<double> riders = ValuesOf<double>(World().rank(), kRiders);
  // Small buckets: the riders go with the first of several.
  ASSERT_TRUE(AllReduceMean(World(), {Tensor(with.data(), DType::kF32, {kFloats})},
                            {.bucket_bytes = 1000, .riders = absl::MakeSpan(riders)})
                  .ok());
  ASSERT_TRUE(AllReduceMean(World(), {Tensor(without.data(), DType::kF32, {kFloats})}, {.bucket_bytes = 1000}).ok());
  EXPECT_TRUE(SameBits(riders, MeanInOrder<double>(ranks, kRiders, false)));
  EXPECT_TRUE(SameBits(with, without));
}

TEST(AllReduceTest, ADifferentNumberOfRidersFailsOnEveryRank) {
  std::vector<float> x(100, 1.0f);
  std::vector<double> riders(IsLastRank() ? 3 : 2, 1.0);
  absl::Status s = AllReduceMean(World(), {Tensor(x.data(), DType::kF32, {100})},
                                 {.riders = absl::MakeSpan(riders)});
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition) << s;
  std::vector<double> too_many(kMaxRiders + 1);
  s = AllReduceMean(World(), {Tensor(x.data(), DType::kF32, {100})}, {.riders = absl::MakeSpan(too_many)});
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
  EXPECT_NE(s.message().find("65 riders, more than the 64 allowed"), std::string::npos) << s;
}

TEST(AllReduceTest, RefusesIntegersAndBucketsOutsideTheirRange) {
  std::vector<int32_t> ids(4);
  EXPECT_EQ(AllReduceMean(World(), {Tensor(ids.data(), DType::kI32, {4})}).code(),
            absl::StatusCode::kInvalidArgument);
  std::vector<double> x(4);
  absl::Status s = AllReduceMean(World(), {Tensor(x.data(), DType::kF64, {4})}, {.bucket_bytes = 4});
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("bucket_bytes 4 is outside"), std::string::npos) << s;
}

TEST(AllReduceTest, FrozenParametersKeepTheirGradientsOutOfTheReduction) {
  ParameterStore store({.seed = 1});
  auto model = TinyLstm::Create(store, DType::kF64);
  ASSERT_TRUE(model.ok());
  Parameter frozen = *store.Find("head.bias");
  frozen.set_frozen(true);
  frozen.grad().data<double>()[0] = World().rank() + 1;  // left alone: not part of the mean
  ASSERT_TRUE(AllReduceGradients(World(), store).ok());
  EXPECT_EQ(frozen.grad().data<double>()[0], World().rank() + 1);
}

TEST(AllReduceTest, GradientsOfAnotherLayoutFailOnEveryRank) {
  ParameterStore store({.seed = 1});
  auto model = TinyLstm::Create(store, DType::kF32, IsLastRank() ? 6 : 5);
  ASSERT_TRUE(model.ok());
  absl::Status s = AllReduceGradients(World(), store);
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition) << s;
  EXPECT_NE(s.message().find("gradients of another layout than rank"), std::string::npos) << s;
}

TEST(CheckSameModelTest, EqualModelsPass) {
  ParameterStore store({.seed = static_cast<uint64_t>(World().rank())});  // values may differ
  ASSERT_TRUE(TinyLstm::Create(store, DType::kF32).ok());
  EXPECT_TRUE(CheckSameModel(World(), store).ok());
}

TEST(CheckSameModelTest, ADifferentModelOnOneRankFailsOnEveryRankNamingTheParameterAndRank) {
  const auto start = std::chrono::steady_clock::now();
  ParameterStore store({.seed = 1});
  ASSERT_TRUE(TinyLstm::Create(store, DType::kF32, IsLastRank() ? 6 : 5).ok());
  absl::Status s = CheckSameModel(World(), store);
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  const std::string last = std::to_string(World().size() - 1);
  // The first parameter, the LSTM's input weights [4 * hidden, 3], differs.
  EXPECT_NE(s.message().find("CheckSameModel #"), std::string::npos) << s;
  EXPECT_NE(s.message().find("parameter 1 differs: rank 0 has 'lstm.weight_ih_l0' [20,3] f32; rank " +
                             last + " has 'lstm.weight_ih_l0' [24,3] f32"),
            std::string::npos)
      << s;
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(30));
}

TEST(CheckSameModelTest, AMissingParameterIsNamed) {
  ParameterStore store({.seed = 1});
  ASSERT_TRUE(TinyLstm::Create(store, DType::kF64).ok());
  if (IsLastRank()) {
    ASSERT_TRUE(store.Add("extra", {2}, Init::Zeros(), DType::kF64).ok());
  }
  absl::Status s = CheckSameModel(World(), store);
  EXPECT_NE(s.message().find("rank 0 has no parameter 7 (it has 6); rank " +
                             std::to_string(World().size() - 1) + " has 'extra' [2] f64"),
            std::string::npos)
      << s;
}

TEST(BroadcastTest, ParametersComeFromRankZero) {
  ParameterStore store({.seed = static_cast<uint64_t>(10 + World().rank())}), rank0({.seed = 10});
  ASSERT_TRUE(TinyLstm::Create(store, DType::kF32).ok());
  ASSERT_TRUE(TinyLstm::Create(rank0, DType::kF32).ok());
  if (!World().is_root()) {
    EXPECT_NE(ParameterBytes(store), ParameterBytes(rank0));
  }
  ASSERT_TRUE(BroadcastParameters(World(), store).ok());
  EXPECT_EQ(ParameterBytes(store), ParameterBytes(rank0));
}

TEST(BroadcastTest, ParametersOfAnotherModelAreRefusedOnEveryRank) {
  ParameterStore store({.seed = 1});
  ASSERT_TRUE(TinyLstm::Create(store, DType::kF32, IsLastRank() ? 6 : 5).ok());
  absl::Status s = BroadcastParameters(World(), store);
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(s.message().find("BroadcastParameters #"), std::string::npos) << s;
}

TEST(BroadcastTest, AnOptimizersStateComesFromRankZero) {
  ParameterStore store({.seed = 1});
  ASSERT_TRUE(TinyLstm::Create(store, DType::kF32).ok());
  Adam adam(store, {});
  auto state = adam.StateTensors();
  for (auto& [name, t] : state) {  // each rank fills its own values
    if (t.dtype() == DType::kF64) {
      for (double& x : t.span<double>()) x = World().rank() + 0.5;
    } else {
      for (float& x : t.span<float>()) x = static_cast<float>(World().rank()) + 0.25f;
    }
  }
  ASSERT_TRUE(BroadcastTensors(World(), state).ok());
  for (auto& [name, t] : state) {
    if (t.dtype() == DType::kF64) {
      for (double x : t.span<double>()) ASSERT_EQ(x, 0.5) << name;
    } else {
      for (float x : t.span<float>()) ASSERT_EQ(x, 0.25f) << name;
    }
  }
}

TEST(BroadcastTest, AStringOfAnyLengthComesFromRankZero) {
  for (size_t length : {size_t{0}, size_t{5}, size_t{3} << 20}) {
    std::string value = World().is_root() ? std::string(length, 'x') : "what rank 1 had";
    if (World().is_root() && length > 0) value.back() = 'y';
    ASSERT_TRUE(BroadcastString(World(), value).ok());
    ASSERT_EQ(value.size(), length);
    if (length > 0) {
      EXPECT_EQ(value.back(), 'y');
    }
  }
}

TEST(BroadcastTest, EveryRanksStringReachesEveryRankInRankOrder) {
  // Rank r sends r * 1000 copies of 'a' + r (rank 0: an empty string).
  const int me = World().rank();
  const std::vector<std::string> all =
      AllGatherString(World(), std::string(static_cast<size_t>(me) * 1000, static_cast<char>('a' + me)));
  ASSERT_EQ(all.size(), static_cast<size_t>(World().size()));
  for (int r = 0; r < World().size(); ++r) {
    EXPECT_EQ(all[r], std::string(static_cast<size_t>(r) * 1000, static_cast<char>('a' + r))) << "rank " << r;
  }
}

TEST(CheckParametersEqualTest, NamesTheParameterAndTheRanksThatDiffer) {
  ParameterStore store({.seed = 1});
  ASSERT_TRUE(TinyLstm::Create(store, DType::kF32).ok());
  EXPECT_TRUE(CheckParametersEqual(World(), store).ok());
  if (IsLastRank()) store.Find("head.weight")->value().data<float>()[2] += 1e-6f;
  absl::Status s = CheckParametersEqual(World(), store);
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(s.message().find("the values of parameter 'head.weight' on rank " +
                             std::to_string(World().size() - 1) + " differ from rank 0's"),
            std::string::npos)
      << s;
}

TEST(CheckParametersEqualTest, AllReduceGradientsChecksEveryNCalls) {
  ParameterStore store({.seed = 1});
  ASSERT_TRUE(TinyLstm::Create(store, DType::kF32).ok());
  const AllReduceOptions options = {.check_parameters_every = 3};
  World().gradient_reductions() = 0;
  ASSERT_TRUE(AllReduceGradients(World(), store, options).ok());
  if (IsLastRank()) store.Find("lstm.bias_hh_l0")->value().data<float>()[0] = -0.0f;
  ASSERT_TRUE(AllReduceGradients(World(), store, options).ok());  // call 2: not checked
  absl::Status s = AllReduceGradients(World(), store, options);  // call 3: checked
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << s;
  EXPECT_NE(s.message().find("'lstm.bias_hh_l0'"), std::string::npos) << s;
}

}  // namespace
}  // namespace tg::testing
