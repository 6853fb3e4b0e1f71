// Helpers for the no-abort tests: an error's code and the words its message must carry, and
// a scoped per-tensor byte limit.
#pragma once

#include <cstddef>
#include <initializer_list>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "graph/tensor.h"
#include "gtest/gtest.h"

namespace tg::testing {

// Expects `s` to have `code` and a message containing every one of `parts`.
inline void ExpectError(const absl::Status& s, absl::StatusCode code,
                        std::initializer_list<std::string_view> parts) {
  EXPECT_EQ(s.code(), code) << s;
  const std::string message(s.message());
  for (std::string_view part : parts) {
    EXPECT_NE(message.find(part), std::string::npos) << "'" << part << "' not in: " << message;
  }
}

// Sets MaxTensorBytes for one test and restores the previous limit.
class ScopedMaxTensorBytes {
 public:
  explicit ScopedMaxTensorBytes(size_t bytes) : previous_(MaxTensorBytes()) {
    SetMaxTensorBytes(bytes);
  }
  ~ScopedMaxTensorBytes() { SetMaxTensorBytes(previous_); }
  ScopedMaxTensorBytes(const ScopedMaxTensorBytes&) = delete;

 private:
  size_t previous_;
};

}  // namespace tg::testing
