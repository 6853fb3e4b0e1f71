// char_lm on 2 ranks bit for bit, as tests/reliability/char_lm_resume_test.cc checks one
// process: two runs of the same flags write the same checkpoint and learning curve, and a
// run stopped mid-pass and resumed from its checkpoint (rank 0 reads it, the other rank
// receives it) ends exactly as the run that never stopped. The ranks check that they hold
// the same weights after every update (--check_ranks_every=1).
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "tests/reliability/char_lm_runs.h"
#include "tests/reliability/scratch.h"

namespace tg::reliability {
namespace {

constexpr int kUpdates = 24;  // 2.2 passes over the tiny text's 11 chunks per stream
constexpr int kStopAt = 10;   // mid-pass; the last checkpoint before it is at update 8

// mpirun -np 2 and its flags (TG_MPIRUN_TWO, ^^ between arguments).
std::vector<std::string> TwoRanks() { return absl::StrSplit(TG_MPIRUN_TWO, "^^"); }

ChildResult RunOnTwoRanks(const std::string& out_dir, std::vector<std::string> more,
                          const std::string& log) {
  more.push_back("--check_ranks_every=1");
  return RunCharLm(TwoRanks(), CharLmFlags(out_dir, kUpdates), more, log);
}

// The batch of 4 streams is 2 per rank: one replica of 2 streams, or two of one stream each.
std::vector<Config> Configs() {
  return {{"two_ranks_1_thread", {"--threads=1"}},
          {"two_ranks_2_replicas", {"--threads=2", "--replicas=2"}}};
}

std::string ConfigName(const testing::TestParamInfo<Config>& info) { return info.param.name; }

class CharLmRanksDeterminismTest : public testing::TestWithParam<Config> {};

TEST_P(CharLmRanksDeterminismTest, TwoRunsWriteTheSameCheckpointAndCurve) {
  const std::string dir = ScratchDir();
  const std::vector<std::string>& config = GetParam().flags;
  for (const char* run : {"a", "b"}) {
    ChildResult r = RunOnTwoRanks(dir + "/" + run, config, dir + "/" + run + ".log");
    EXPECT_SUCCEEDED(r);
    EXPECT_NE(r.output.find("2 ranks: "), std::string::npos) << r.output;
  }
  const std::string a = dir + "/a/char_lm.safetensors", b = dir + "/b/char_lm.safetensors";
  EXPECT_EQ(UpdatesIn(a), kUpdates);
  EXPECT_TRUE(SameCheckpoints(a, b));
  const std::vector<std::string> curve = CurveRows(dir + "/a/curve.csv");
  EXPECT_EQ(curve.size(), 1u + kUpdates / 5 + 1);  // header, every 5th update, the last
  EXPECT_EQ(curve, CurveRows(dir + "/b/curve.csv"));
  // The comparison sees a difference where there is one: another seed.
  std::vector<std::string> other_seed = config;
  other_seed.push_back("--seed=2");
  ChildResult r = RunOnTwoRanks(dir + "/c", other_seed, dir + "/c.log");
  EXPECT_SUCCEEDED(r);
  EXPECT_FALSE(SameCheckpoints(a, dir + "/c/char_lm.safetensors"));
}

INSTANTIATE_TEST_SUITE_P(Configs, CharLmRanksDeterminismTest, testing::ValuesIn(Configs()), ConfigName);

class CharLmRanksResumeTest : public testing::TestWithParam<Config> {};

TEST_P(CharLmRanksResumeTest, StoppedMidPassAndResumedEndsAsTheUninterruptedRun) {
  const std::string dir = ScratchDir();
  const std::vector<std::string>& config = GetParam().flags;
  ChildResult whole = RunOnTwoRanks(dir + "/whole", config, dir + "/whole.log");
  EXPECT_SUCCEEDED(whole);

  std::vector<std::string> stop = config;
  stop.push_back("--stop_after_updates=" + std::to_string(kStopAt));
  ChildResult stopped = RunOnTwoRanks(dir + "/parts", stop, dir + "/stopped.log");
  EXPECT_SUCCEEDED(stopped);
  EXPECT_NE(stopped.output.find("stopped after update 10 without a final checkpoint"),
            std::string::npos)
      << stopped.output;
  EXPECT_EQ(UpdatesIn(dir + "/parts/char_lm.safetensors"), 8);

  std::vector<std::string> resume = config;
  resume.push_back("--resume");
  ChildResult resumed = RunOnTwoRanks(dir + "/parts", resume, dir + "/resumed.log");
  EXPECT_SUCCEEDED(resumed);
  EXPECT_NE(resumed.output.find("at update 8"), std::string::npos) << resumed.output;

  EXPECT_TRUE(
      SameCheckpoints(dir + "/whole/char_lm.safetensors", dir + "/parts/char_lm.safetensors"));
  EXPECT_EQ(CurveRows(dir + "/whole/curve.csv"), CurveRows(dir + "/parts/curve.csv"));
}

INSTANTIATE_TEST_SUITE_P(Configs, CharLmRanksResumeTest, testing::ValuesIn(Configs()), ConfigName);

}  // namespace
}  // namespace tg::reliability
