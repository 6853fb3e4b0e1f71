/// \file
/// FlagChecks: the up-front check of a program's command-line values. Every example and
/// benchmark runs its flags through one before it loads data or trains, so that a value out
/// of range ends the program at once, with status 2 and one line that names the flag, the
/// value and what is allowed, e.g. `char_lm: --batch=0 is out of range: must be at least 1`.
/// It takes plain values (not absl flags), so base/ stays free of the flags library.
/// absl::string_view, not std::string_view: this Abseil build keeps its own type.
#pragma once

#include <concepts>
#include <cstdint>
#include <string>
#include <type_traits>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace tg {

/// The bounds of FlagChecks::InRange: which of the two ends is allowed.
enum class Interval {
  kClosed,  ///< [lo, hi]
  kClosedOpen,  ///< [lo, hi)
  kOpen,  ///< (lo, hi)
};

/// Collects the flags whose values are not allowed, one message each, then exits if any.
///   FlagChecks checks("char_lm");
///   checks.AtLeast("batch", absl::GetFlag(FLAGS_batch), 1)
///         .OneOf("cell", absl::GetFlag(FLAGS_cell), {"lstm", "gru", "rnn", "lnlstm"});
///   checks.ExitIfAny();
/// Flag names are given without the leading dashes.
class FlagChecks {
 public:
  /// `program` starts every line printed by ExitIfAny.
  explicit FlagChecks(std::string program);

  /// An integer flag (a count, a size) is at least `min`.
  template <std::integral T>
  FlagChecks& AtLeast(absl::string_view name, T value, std::type_identity_t<T> min) {
    if (value < min) OutOfRange(name, absl::StrCat(value), absl::StrCat("at least ", min));
    return *this;
  }

  /// An integer flag is at most `max`; `what` says where the bound comes from, e.g.
  /// "--batch (8)"; empty: the number itself.
  template <std::integral T>
  FlagChecks& AtMost(absl::string_view name, T value, std::type_identity_t<T> max,
                     absl::string_view what = {}) {
    if (value > max) {
      OutOfRange(name, absl::StrCat(value),
                 absl::StrCat("at most ", what.empty() ? absl::StrCat(max) : std::string(what)));
    }
    return *this;
  }

  /// A real-valued flag is a finite number at least `min`.
  FlagChecks& AtLeast(absl::string_view name, double value, double min);

  /// A real-valued flag is a finite number greater than `bound`.
  FlagChecks& GreaterThan(absl::string_view name, double value, double bound);

  /// A real-valued flag lies in the interval from `lo` to `hi` (e.g. [0, 1) for a dropout rate).
  FlagChecks& InRange(absl::string_view name, double value, double lo, double hi, Interval bounds);

  /// A real-valued flag is a finite number (not nan or inf).
  FlagChecks& Finite(absl::string_view name, double value);

  /// An enumerated flag is one of `allowed`.
  FlagChecks& OneOf(absl::string_view name, absl::string_view value,
                    const std::vector<absl::string_view>& allowed);

  /// A list flag (--cells=lstm,gru) has at least one entry.
  FlagChecks& NotEmpty(absl::string_view name, const std::vector<std::string>& values);

  /// Each entry of a list flag (--cells=lstm,gru) is one of `allowed`.
  FlagChecks& EachOneOf(absl::string_view name, const std::vector<std::string>& values,
                        const std::vector<absl::string_view>& allowed);

  /// Each entry of a list flag (--lengths=50,100) is a whole number at least `min`.
  FlagChecks& EachAtLeast(absl::string_view name, const std::vector<std::string>& values,
                          int64_t min);

  /// Each entry of a list flag (--eval_at_minutes=1,2.5) is a number greater than `bound`.
  FlagChecks& EachGreaterThan(absl::string_view name, const std::vector<std::string>& values,
                              double bound);

  /// A path flag names a readable file that exists (checked now, before any work).
  FlagChecks& FileExists(absl::string_view name, const std::string& path);

  /// Any other rule, often between two flags: unless `ok`, `message` is reported as given. It
  /// should start with the flag it is about, e.g. "--replicas=2 needs compiled training".
  FlagChecks& Require(bool ok, std::string message);

  /// The messages collected so far, one per violation, without the program's name.
  const std::vector<std::string>& violations() const { return violations_; }

  /// Prints "<program>: <message>" to stderr for each violation and exits with status 2 if
  /// there is one; returns otherwise.
  void ExitIfAny() const;

 private:
  void OutOfRange(absl::string_view name, absl::string_view value, absl::string_view allowed);

  std::string program_;
  std::vector<std::string> violations_;
};

}  // namespace tg
