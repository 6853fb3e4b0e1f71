// Scratch directories and whole-file reads for tests that write files.
#pragma once

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <system_error>
#include <vector>

#include "fmt/format.h"
#include "gtest/gtest.h"

namespace tg::test_files {

// Removes `root` when the test program exits having passed (a failed run keeps its files to
// look at). ctest runs each test in a process of its own, so without this every run of the
// suite would leave its directories in the temp directory.
inline void RemoveAtExitIfPassed(const std::filesystem::path& root) {
  static std::vector<std::filesystem::path> roots;
  static const bool registered = [] {
    std::atexit([] {
      if (!::testing::UnitTest::GetInstance()->Passed()) return;
      std::error_code ignored;
      for (const std::filesystem::path& r : roots) std::filesystem::remove_all(r, ignored);
    });
    return true;
  }();
  (void)registered;
  if (std::find(roots.begin(), roots.end(), root) == roots.end()) roots.push_back(root);
}

// A fresh, empty directory for the running test: <gtest temp>/<prefix>_<pid>/<suite>.<test>,
// removed with <prefix>_<pid> when the test program exits having passed.
inline std::string FreshScratchDir(const std::string& prefix) {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  const std::filesystem::path root =
      std::filesystem::path(::testing::TempDir()) / fmt::format("{}_{}", prefix, ::getpid());
  const std::filesystem::path dir =
      root / fmt::format("{}.{}", info->test_suite_name(), info->name());
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  RemoveAtExitIfPassed(root);
  return dir.string();
}

// The whole content of the file at `path`, byte for byte (empty if it cannot be read).
inline std::string ReadBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace tg::test_files
