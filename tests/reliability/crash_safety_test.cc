// A checkpoint on disk is always a complete one: when the writing process is killed at any
// moment, when the disk is full and when the directory refuses writes, the file at the
// checkpoint's path loads, and is either the previous checkpoint or the new one.
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "base/random.h"
#include "fmt/format.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "models/checkpoint.h"
#include "tests/reliability/scratch.h"

namespace tg::reliability {
namespace {

using ::testing::HasSubstr;

// A small store; checkpoint number i holds the value i in every element and "i" in its
// metadata, so a loaded file shows whether it is one complete checkpoint.
ParameterStore MakeStore(int64_t rows = 64) {
  ParameterStore store({.seed = 1});
  EXPECT_TRUE(store.Add("a", {rows, 32}).ok());
  EXPECT_TRUE(store.Add("b", {rows}).ok());
  return store;
}

absl::Status SaveNumbered(const std::string& path, ParameterStore& store, int64_t i) {
  for (const Parameter& p : store.parameters()) {
    std::fill_n(p.value().data<float>(), p.value().num_elements(), static_cast<float>(i));
  }
  return SaveCheckpoint(path, store, nullptr, {.metadata = {{"i", std::to_string(i)}}});
}

// The number of the complete checkpoint at `path`, or a failure saying what is wrong.
testing::AssertionResult LoadNumbered(const std::string& path, int64_t* i) {
  ParameterStore store = MakeStore();
  LoadedExtras extras;
  absl::Status s = LoadCheckpoint(path, store, nullptr, &extras);
  if (!s.ok()) return testing::AssertionFailure() << s;
  auto it = extras.metadata.find("i");
  if (it == extras.metadata.end() || !absl::SimpleAtoi(it->second, i)) {
    return testing::AssertionFailure() << "no checkpoint number in the metadata";
  }
  for (const Parameter& p : store.parameters()) {
    const float* v = p.value().data<float>();
    for (int64_t k = 0; k < p.value().num_elements(); ++k) {
      if (v[k] != static_cast<float>(*i)) {
        return testing::AssertionFailure()
               << "checkpoint " << *i << ": '" << p.name() << "'[" << k << "] = " << v[k];
      }
    }
  }
  return testing::AssertionSuccess();
}

int TempFiles(const std::string& dir) {
  std::vector<std::string> names = Listing(dir);
  return static_cast<int>(std::count_if(names.begin(), names.end(), [](const std::string& n) {
    return absl::StrContains(n, ".tmp.");
  }));
}

struct SaveLoop {
  std::string path;
  ParameterStore* store;
  int64_t first;
};

// The child: saves checkpoints first, first + 1, ... until killed.
int SaveForever(void* arg, std::string* report) {
  auto* loop = static_cast<SaveLoop*>(arg);
  for (int64_t i = loop->first;; ++i) {
    if (absl::Status s = SaveNumbered(loop->path, *loop->store, i); !s.ok()) {
      *report = std::string(s.message());
      return 3;
    }
  }
}

TEST(CrashSafetyTest, KilledWriterAlwaysLeavesACompleteCheckpoint) {
  const std::string dir = ScratchDir(), path = dir + "/c.safetensors";
  ParameterStore store = MakeStore();
  ASSERT_TRUE(SaveNumbered(path, store, 0).ok());
  // Kill at random moments over a few saves' time: most land inside a save (the child does
  // nothing else), in its write, fsync, rename or directory fsync.
  const auto start = std::chrono::steady_clock::now();
  for (int i = 1; i <= 5; ++i) ASSERT_TRUE(SaveNumbered(path, store, i).ok());
  const double save_us =
      std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count() /
      5;
  // A window of many saves, so kills also land after completed saves (the file advances): a
  // fresh child's first saves are slower than these (its pages are copied on first write, and
  // under a sanitizer its shadow memory too), and on a loaded machine one save can take tens
  // of milliseconds.
  const int64_t window_us =
      std::clamp<int64_t>(static_cast<int64_t>(16 * save_us), 2'000, 500'000);

  Rng rng(7);
  int64_t last = 5, advanced = 0;
  constexpr int kKills = 200;
  for (int kill = 0; kill < kKills; ++kill) {
    SaveLoop loop{path, &store, last + 1};
    // The child says over a pipe when it starts saving, so that the random moment is counted
    // from there: forking a large (sanitized) process can itself take longer than the window.
    int ready[2];
    ASSERT_EQ(::pipe(ready), 0);
    // The child is killed by the parent below, so RunInChild would wait forever: fork here.
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      ::close(ready[0]);
      const char go = 1;
      if (::write(ready[1], &go, 1) != 1) ::_exit(4);
      ::close(ready[1]);
      std::string ignored;
      ::_exit(SaveForever(&loop, &ignored));
    }
    ::close(ready[1]);
    char go = 0;
    const ssize_t got = ::read(ready[0], &go, 1);
    ::close(ready[0]);
    ASSERT_EQ(got, 1) << "the saving child did not start";
    std::this_thread::sleep_for(std::chrono::microseconds(rng.Below(window_us)));
    ASSERT_EQ(::kill(pid, SIGKILL), 0);
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFSIGNALED(status)) << "the saving child ended by itself, status " << status;

    int64_t now = -1;
    ASSERT_TRUE(LoadNumbered(path, &now)) << "after kill " << kill;
    ASSERT_GE(now, last) << "the file went back to an older checkpoint after kill " << kill;
    advanced += now > last ? 1 : 0;
    last = now;
  }
  // A killed save leaves its temp file: evidence that kills landed mid-save.
  const int left = TempFiles(dir);
  std::printf(
      "%d kills over %lld us windows (a save takes %.0f us): the file advanced %lld "
      "times, %d kills left a temp file\n",
      kKills, static_cast<long long>(window_us), save_us, static_cast<long long>(advanced), left);
  EXPECT_GT(left, 0);
  EXPECT_GT(advanced, 0);
  std::filesystem::remove_all(dir);
}

struct FullDisk {
  std::string path;
  ParameterStore* store;
  rlim_t limit;
};

// The child: a file size limit makes write() fail with EFBIG, as a full disk fails it.
int SaveWithFileSizeLimit(void* arg, std::string* report) {
  auto* job = static_cast<FullDisk*>(arg);
  std::signal(SIGXFSZ, SIG_IGN);
  rlimit limit{};
  if (::getrlimit(RLIMIT_FSIZE, &limit) != 0) {
    *report = "getrlimit failed";
    return 2;
  }
  limit.rlim_cur = job->limit;
  if (::setrlimit(RLIMIT_FSIZE, &limit) != 0) {
    *report = "setrlimit failed";
    return 2;
  }
  absl::Status s = SaveNumbered(job->path, *job->store, 2);
  *report = std::string(s.message());
  return s.ok() ? 0 : 1;
}

TEST(CrashSafetyTest, FullDiskFailsTheSaveAndKeepsThePreviousCheckpoint) {
  const std::string dir = ScratchDir(), path = dir + "/c.safetensors";
  ParameterStore small = MakeStore(4), big = MakeStore(256);
  ASSERT_TRUE(SaveNumbered(path, small, 1).ok());
  const std::string before = ReadBytes(path);

  FullDisk job{path, &big, static_cast<rlim_t>(before.size() + 100)};
  ChildResult r = RunInChild(SaveWithFileSizeLimit, &job);
  ASSERT_TRUE(r.exited) << "signal " << r.signal;
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_THAT(r.output, HasSubstr("cannot write '" + path + "'"));
  EXPECT_THAT(r.output, HasSubstr("File too large"));
  EXPECT_EQ(ReadBytes(path), before);
  EXPECT_EQ(Listing(dir), std::vector<std::string>{"c.safetensors"});  // no temp file left
}

struct Unprivileged {
  std::string path;
  ParameterStore* store;
};

// The child: as root, becomes "nobody" first (root writes anywhere, whatever the mode).
int SaveAsNobody(void* arg, std::string* report) {
  auto* job = static_cast<Unprivileged*>(arg);
  if (::geteuid() == 0 && (::setgid(65534) != 0 || ::setuid(65534) != 0)) {
    *report = "cannot drop to uid 65534";
    return 2;
  }
  absl::Status s = SaveNumbered(job->path, *job->store, 2);
  *report = std::string(s.message());
  return s.ok() ? 0 : 1;
}

TEST(CrashSafetyTest, UnwritableDirectoryFailsNamingThePathAndKeepsThePreviousCheckpoint) {
  const std::string dir = ScratchDir() + "/locked", path = dir + "/c.safetensors";
  std::filesystem::create_directories(dir);
  ParameterStore store = MakeStore(4);
  ASSERT_TRUE(SaveNumbered(path, store, 1).ok());
  const std::string before = ReadBytes(path);
  // Readable and searchable by all, writable by no one but root (whom the child leaves).
  std::filesystem::permissions(
      dir, std::filesystem::perms::owner_read | std::filesystem::perms::owner_exec |
               std::filesystem::perms::group_read | std::filesystem::perms::group_exec |
               std::filesystem::perms::others_read | std::filesystem::perms::others_exec);
  Unprivileged job{path, &store};
  ChildResult r = RunInChild(SaveAsNobody, &job);
  std::filesystem::permissions(dir, std::filesystem::perms::owner_all,
                               std::filesystem::perm_options::add);
  ASSERT_TRUE(r.exited) << "signal " << r.signal;
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_THAT(r.output, HasSubstr("cannot write '" + path + "'"));
  EXPECT_THAT(r.output, HasSubstr("Permission denied"));
  EXPECT_EQ(ReadBytes(path), before);
  EXPECT_EQ(Listing(dir), std::vector<std::string>{"c.safetensors"});
}

}  // namespace
}  // namespace tg::reliability
