// Scratch files for the example loader and writer tests, under gtest's temporary directory.
#pragma once

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "gtest/gtest.h"
#include "tests/scratch_files.h"

namespace tg::examples::test_util {

// The path of `name` in the test's temporary directory.
inline std::string TempPath(const std::string& name) {
  return (std::filesystem::path(::testing::TempDir()) / name).string();
}

// Writes `bytes` to TempPath(name) and returns that path.
inline std::string WriteFile(const std::string& name, const std::string& bytes) {
  std::string path = TempPath(name);
  std::ofstream(path, std::ios::binary) << bytes;
  return path;
}

// The whole content of the file at `path` (empty if it cannot be read).
inline std::string ReadFile(const std::string& path) { return test_files::ReadBytes(path); }

}  // namespace tg::examples::test_util
