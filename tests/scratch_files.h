// Scratch directories and whole-file reads for tests that write files.
#pragma once

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "fmt/format.h"
#include "gtest/gtest.h"

namespace tg::test_files {

// A fresh, empty directory for the running test: <gtest temp>/<prefix>_<pid>/<suite>.<test>.
inline std::string FreshScratchDir(const std::string& prefix) {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  const std::filesystem::path dir =
      std::filesystem::path(::testing::TempDir()) / fmt::format("{}_{}", prefix, ::getpid()) /
      fmt::format("{}.{}", info->test_suite_name(), info->name());
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir.string();
}

// The whole content of the file at `path`, byte for byte (empty if it cannot be read).
inline std::string ReadBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace tg::test_files
