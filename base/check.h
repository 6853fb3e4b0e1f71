/// \file
/// TG_CHECK: aborts on a bug in tapegrad itself (never on user input: that gets a Status).
/// This Abseil (20220623) has no absl/log, so the project keeps its own.
#pragma once

#include <sstream>

/// \cond INTERNAL
namespace tg::internal {

class CheckFailure {
 public:
  CheckFailure(const char* file, int line, const char* condition);
  [[noreturn]] ~CheckFailure();
  template <class T>
  CheckFailure& operator<<(const T& v) {
    stream_ << v;
    return *this;
  }

 private:
  std::ostringstream stream_;
};

// Lets `cond ? (void)0 : Voidify() & CheckFailure(...) << ...` type-check.
struct Voidify {
  void operator&(const CheckFailure&) {}
};

}  // namespace tg::internal
/// \endcond

/// Aborts the process, printing file, line, the condition and anything streamed into it
/// (`TG_CHECK(n > 0) << "n is " << n;`), when `cond` is false. For invariants of tapegrad
/// itself; bad user input gets an absl::Status instead.
#define TG_CHECK(cond)                        \
  (cond) ? (void)0                            \
         : ::tg::internal::Voidify() &        \
               ::tg::internal::CheckFailure(__FILE__, __LINE__, #cond)
