// Helpers shared by the reliability tests: a fresh directory per test, whole-file reads,
// and child processes (forked, or char_lm run as a program) with their outcome.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace tg::reliability {

// A new empty directory for the running test under the gtest temp dir.
std::string ScratchDir();

std::string ReadBytes(const std::string& path);

// The names in `dir`, sorted.
std::vector<std::string> Listing(const std::string& dir);

// What a finished child process did.
struct ChildResult {
  bool exited = false;  // normally, with `code`; else killed by `signal`
  int code = -1;
  int signal = 0;
  std::string output;  // what it wrote to stdout and stderr, or to its report pipe
};

// Runs `body` in a forked child whose return value is its exit status and whose `report`
// string (e.g. a Status message) is passed back to the parent.
ChildResult RunInChild(int (*body)(void* arg, std::string* report), void* arg);

// Starts `argv` as a program with stdout and stderr to `log_path`; returns its pid.
pid_t Spawn(const std::vector<std::string>& argv, const std::string& log_path);
// Waits for `pid`; output: the contents of `log_path`.
ChildResult Wait(pid_t pid, const std::string& log_path);

}  // namespace tg::reliability
