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

// mpirun -np 2 and its flags (TG_MPIRUN_TWO, ^^ between arguments).
std::vector<std::string> TwoRanks() { return absl::StrSplit(TG_MPIRUN_TWO, "^^"); }

// char_lm on two ranks (a CharLmRunner), the ranks checking their weights after every update.
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
  for (const ChildResult& r : ExpectRunsRepeat(RunOnTwoRanks, GetParam().flags, ScratchDir())) {
    EXPECT_NE(r.output.find("2 ranks: "), std::string::npos) << r.output;
  }
}

INSTANTIATE_TEST_SUITE_P(Configs, CharLmRanksDeterminismTest, testing::ValuesIn(Configs()), ConfigName);

class CharLmRanksResumeTest : public testing::TestWithParam<Config> {};

TEST_P(CharLmRanksResumeTest, StoppedMidPassAndResumedEndsAsTheUninterruptedRun) {
  ExpectResumeEndsAsWhole(RunOnTwoRanks, GetParam().flags, ScratchDir());
}

INSTANTIATE_TEST_SUITE_P(Configs, CharLmRanksResumeTest, testing::ValuesIn(Configs()), ConfigName);

}  // namespace
}  // namespace tg::reliability
