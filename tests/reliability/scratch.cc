#include "tests/reliability/scratch.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "fmt/format.h"
#include "gtest/gtest.h"
#include "tests/scratch_files.h"

extern char** environ;

namespace tg::reliability {

namespace fs = std::filesystem;

std::string ScratchDir() { return test_files::FreshScratchDir("tg_reliability"); }

std::string ReadBytes(const std::string& path) { return test_files::ReadBytes(path); }

std::vector<std::string> Listing(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) names.push_back(e.path().filename());
  std::sort(names.begin(), names.end());
  return names;
}

namespace {

ChildResult Decode(int status) {
  ChildResult r;
  r.exited = WIFEXITED(status);
  if (r.exited) r.code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) r.signal = WTERMSIG(status);
  return r;
}

int WaitFor(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return status;
}

}  // namespace

ChildResult RunInChild(int (*body)(void* arg, std::string* report), void* arg) {
  int fds[2];
  EXPECT_EQ(::pipe(fds), 0);
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::close(fds[0]);
    std::string report;
    const int code = body(arg, &report);
    for (size_t done = 0; done < report.size();) {
      const ssize_t n = ::write(fds[1], report.data() + done, report.size() - done);
      if (n <= 0) break;
      done += static_cast<size_t>(n);
    }
    ::_exit(code);  // no atexit handlers or gtest teardown in the child
  }
  ::close(fds[1]);
  std::string report;
  char buffer[4096];
  for (ssize_t n; (n = ::read(fds[0], buffer, sizeof(buffer))) != 0;) {
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) break;
    report.append(buffer, static_cast<size_t>(n));
  }
  ::close(fds[0]);
  ChildResult r = Decode(WaitFor(pid));
  r.output = std::move(report);
  return r;
}

pid_t Spawn(const std::vector<std::string>& argv, const std::string& log_path) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log_path.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = -1;
  const int err = posix_spawn(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  EXPECT_EQ(err, 0) << "posix_spawn " << argv[0] << ": " << std::strerror(err);
  return err == 0 ? pid : -1;
}

ChildResult Wait(pid_t pid, const std::string& log_path) {
  ChildResult r = pid > 0 ? Decode(WaitFor(pid)) : ChildResult{};
  r.output = ReadBytes(log_path);
  return r;
}

}  // namespace tg::reliability
