// char_lm bit for bit: two runs of the same flags and seed write the same checkpoint and
// learning curve (eager and compiled, one and two threads, one and two replicas), and a run
// stopped mid-pass -- at a fixed update, or by SIGKILL at a random moment -- and resumed
// from its last checkpoint ends exactly as the run that never stopped. "The same" is byte
// for byte except the wall-clock fields: the metadata in kWallClockMetadataKeys and the
// curve's kWallClockColumn.
#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "base/random.h"
#include "gtest/gtest.h"
#include "tests/reliability/char_lm_runs.h"
#include "tests/reliability/scratch.h"

namespace tg::reliability {
namespace {

namespace fs = std::filesystem;

std::vector<std::string> Flags(const std::string& out_dir, int max_updates = kUpdates) {
  return CharLmFlags(out_dir, max_updates);
}

ChildResult RunCharLm(std::vector<std::string> args, const std::vector<std::string>& more,
                      const std::string& log) {
  return reliability::RunCharLm({}, std::move(args), more, log);
}

// char_lm in one process (a CharLmRunner).
ChildResult RunAlone(const std::string& out_dir, const std::vector<std::string>& config,
                     const std::string& log) {
  return RunCharLm(Flags(out_dir), config, log);
}

std::vector<Config> Configs() {
  return {{"eager_1_thread", {"--nocompile", "--threads=1"}},
          {"eager_2_threads", {"--nocompile", "--threads=2"}},
          {"compiled_1_thread", {"--threads=1"}},
          {"compiled_2_threads", {"--threads=2", "--replicas=1"}},
          {"compiled_2_replicas", {"--threads=2", "--replicas=2"}}};
}

class CharLmDeterminismTest : public testing::TestWithParam<Config> {};

TEST_P(CharLmDeterminismTest, TwoRunsWriteTheSameCheckpointAndCurve) {
  ExpectRunsRepeat(RunAlone, GetParam().flags, ScratchDir());
}

INSTANTIATE_TEST_SUITE_P(Configs, CharLmDeterminismTest, testing::ValuesIn(Configs()),
                         [](const testing::TestParamInfo<Config>& info) {
                           return std::string(info.param.name);
                         });

// Stopped at update kStopAt, then resumed with --resume.
class CharLmResumeTest : public testing::TestWithParam<Config> {};

TEST_P(CharLmResumeTest, StoppedMidPassAndResumedEndsAsTheUninterruptedRun) {
  ExpectResumeEndsAsWhole(RunAlone, GetParam().flags, ScratchDir());
}

INSTANTIATE_TEST_SUITE_P(Configs, CharLmResumeTest, testing::Values(Configs()[0], Configs()[4]),
                         [](const testing::TestParamInfo<Config>& info) {
                           return std::string(info.param.name);
                         });

// Killed with SIGKILL once its checkpoints pass update 12, wherever it is then (perhaps
// in the middle of writing one), and resumed from whatever checkpoint is on disk.
TEST(CharLmKillTest, KilledAtARandomMomentAndResumedEndsAsTheUninterruptedRun) {
  // Long enough that the kill (at most 40 ms after update 12's checkpoint) lands before the
  // end: a compiled update of this model takes well under a millisecond.
  constexpr int kLong = 600;
  const std::string dir = ScratchDir();
  const std::vector<std::string> config = {"--threads=2", "--replicas=2", "--checkpoint_every=3"};
  ChildResult whole = RunCharLm(Flags(dir + "/whole", kLong), config, dir + "/whole.log");
  EXPECT_SUCCEEDED(whole);

  std::vector<std::string> args = Flags(dir + "/parts", kLong);
  args.insert(args.end(), config.begin(), config.end());
  fs::create_directories(dir + "/parts");
  const std::string checkpoint = dir + "/parts/char_lm.safetensors";
  const pid_t pid = Spawn(args, dir + "/killed.log");
  ASSERT_GT(pid, 0);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  int64_t seen = -1;
  while ((seen = UpdatesIn(checkpoint)) < 12 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  // Then a random moment within the next few updates and checkpoint writes.
  const uint64_t seed = std::random_device()();
  const int64_t delay_us = static_cast<int64_t>(Rng(seed).Below(40'000));
  std::this_thread::sleep_for(std::chrono::microseconds(delay_us));
  ::kill(pid, SIGKILL);
  ChildResult killed = Wait(pid, dir + "/killed.log");
  ASSERT_EQ(killed.signal, SIGKILL) << "char_lm ended before it was killed:\n" << killed.output;
  const int64_t at = UpdatesIn(checkpoint);
  EXPECT_GE(at, 12);
  EXPECT_LT(at, kLong);
  std::printf("killed %lld us after update %lld's checkpoint appeared, update %lld's on disk\n",
              static_cast<long long>(delay_us), static_cast<long long>(seen),
              static_cast<long long>(at));

  std::vector<std::string> resume = config;
  resume.push_back("--resume");
  ChildResult resumed = RunCharLm(Flags(dir + "/parts", kLong), resume, dir + "/resumed.log");
  EXPECT_SUCCEEDED(resumed);
  EXPECT_NE(resumed.output.find("at update " + std::to_string(at)), std::string::npos)
      << resumed.output;
  EXPECT_TRUE(SameCheckpoints(dir + "/whole/char_lm.safetensors", checkpoint));
  EXPECT_EQ(CurveRows(dir + "/whole/curve.csv"), CurveRows(dir + "/parts/curve.csv"));
}

// A two-file checkpoint of an older char_lm resumes, and is rewritten as one file.
TEST(CharLmLegacyTest, ResumesFromATwoFileCheckpoint) {
  const std::string dir = ScratchDir();
  for (const char* name : {"char_lm.safetensors", "char_lm.safetensors.json"}) {
    fs::copy_file(fs::path(TG_RELIABILITY_TESTDATA) / "legacy_two_file" / name,
                  fs::path(dir) / name);
  }
  ChildResult r =
      RunCharLm({TG_CHAR_LM, "--data=" TG_RELIABILITY_TESTDATA "/tiny.txt", "--out_dir=" + dir,
                 "--seq=8", "--batch=2", "--threads=1", "--sample=0", "--max_updates=6"},
                {"--resume"}, dir + "/resumed.log");
  EXPECT_SUCCEEDED(r);
  EXPECT_NE(r.output.find("at update 3"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("trained 3 updates"), std::string::npos) << r.output;
  EXPECT_EQ(UpdatesIn(dir + "/char_lm.safetensors"), 6);
  EXPECT_FALSE(fs::exists(dir + "/char_lm.safetensors.json"));
}

}  // namespace
}  // namespace tg::reliability
