#include "base/flag_checks.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_join.h"

namespace tg {
namespace {

// "lo, hi" with the interval's brackets: [0, 1).
std::string IntervalText(double lo, double hi, Interval bounds) {
  const char* open = bounds == Interval::kOpen ? "(" : "[";
  const char* close = bounds == Interval::kClosed ? "]" : ")";
  return absl::StrCat(open, lo, ", ", hi, close);
}

bool Inside(double value, double lo, double hi, Interval bounds) {
  switch (bounds) {
    case Interval::kClosed: return value >= lo && value <= hi;
    case Interval::kClosedOpen: return value >= lo && value < hi;
    case Interval::kOpen: return value > lo && value < hi;
  }
  return false;
}

// "--name=a,b,c": the list as typed.
std::string Typed(absl::string_view name, const std::vector<std::string>& values) {
  return absl::StrCat("--", name, "=", absl::StrJoin(values, ","));
}

}  // namespace

FlagChecks::FlagChecks(std::string program) : program_(std::move(program)) {}

void FlagChecks::OutOfRange(absl::string_view name, absl::string_view value,
                            absl::string_view allowed) {
  violations_.push_back(absl::StrCat("--", name, "=", value, " is out of range: must be ", allowed));
}

FlagChecks& FlagChecks::AtLeast(absl::string_view name, double value, double min) {
  if (!(value >= min) || !std::isfinite(value)) {
    OutOfRange(name, absl::StrCat(value),
               absl::StrCat(std::isfinite(value) ? "" : "a finite number ", "at least ", min));
  }
  return *this;
}

FlagChecks& FlagChecks::GreaterThan(absl::string_view name, double value, double bound) {
  if (!(value > bound) || !std::isfinite(value)) {
    OutOfRange(name, absl::StrCat(value),
               absl::StrCat(std::isfinite(value) ? "" : "a finite number ", "greater than ", bound));
  }
  return *this;
}

FlagChecks& FlagChecks::InRange(absl::string_view name, double value, double lo, double hi,
                                Interval bounds) {
  if (!Inside(value, lo, hi, bounds)) {
    OutOfRange(name, absl::StrCat(value), absl::StrCat("in ", IntervalText(lo, hi, bounds)));
  }
  return *this;
}

FlagChecks& FlagChecks::Finite(absl::string_view name, double value) {
  if (!std::isfinite(value)) OutOfRange(name, absl::StrCat(value), "a finite number");
  return *this;
}

FlagChecks& FlagChecks::OneOf(absl::string_view name, absl::string_view value,
                              const std::vector<absl::string_view>& allowed) {
  for (absl::string_view a : allowed) {
    if (value == a) return *this;
  }
  violations_.push_back(absl::StrCat("--", name, "=", value, " is not allowed: must be one of ",
                                     absl::StrJoin(allowed, ", ")));
  return *this;
}

FlagChecks& FlagChecks::NotEmpty(absl::string_view name, const std::vector<std::string>& values) {
  if (values.empty()) {
    violations_.push_back(absl::StrCat("--", name, " is empty: must list at least one entry"));
  }
  return *this;
}

FlagChecks& FlagChecks::EachOneOf(absl::string_view name, const std::vector<std::string>& values,
                                  const std::vector<absl::string_view>& allowed) {
  for (const std::string& v : values) {
    bool known = false;
    for (absl::string_view a : allowed) known = known || v == a;
    if (!known) {
      violations_.push_back(absl::StrCat(Typed(name, values), " is not allowed: '", v,
                                         "' is not one of ", absl::StrJoin(allowed, ", ")));
      return *this;
    }
  }
  return *this;
}

FlagChecks& FlagChecks::EachAtLeast(absl::string_view name, const std::vector<std::string>& values,
                                    int64_t min) {
  for (const std::string& v : values) {
    int64_t n = 0;
    if (!absl::SimpleAtoi(v, &n) || n < min) {
      violations_.push_back(absl::StrCat(Typed(name, values),
                                         " is out of range: each entry must be a whole number at least ",
                                         min, " ('", v, "' is not)"));
      return *this;
    }
  }
  return *this;
}

FlagChecks& FlagChecks::EachGreaterThan(absl::string_view name,
                                        const std::vector<std::string>& values, double bound) {
  for (const std::string& v : values) {
    double x = 0;
    if (!absl::SimpleAtod(v, &x) || !std::isfinite(x) || !(x > bound)) {
      violations_.push_back(absl::StrCat(Typed(name, values),
                                         " is out of range: each entry must be a number greater than ",
                                         bound, " ('", v, "' is not)"));
      return *this;
    }
  }
  return *this;
}

FlagChecks& FlagChecks::FileExists(absl::string_view name, const std::string& path) {
  const std::string typed = absl::StrCat("--", name, "=", path);
  std::error_code ec;
  if (path.empty()) {
    violations_.push_back(absl::StrCat(typed, " is empty: must name a file"));
  } else if (!std::filesystem::exists(path, ec)) {
    violations_.push_back(absl::StrCat(typed, ": no such file"));
  } else if (std::filesystem::is_directory(path, ec)) {
    violations_.push_back(absl::StrCat(typed, " is a directory, not a file"));
  } else if (!std::ifstream(path).good()) {
    violations_.push_back(absl::StrCat(typed, ": the file cannot be read"));
  }
  return *this;
}

FlagChecks& FlagChecks::Require(bool ok, std::string message) {
  if (!ok) violations_.push_back(std::move(message));
  return *this;
}

void FlagChecks::ExitIfAny() const {
  if (violations_.empty()) return;
  for (const std::string& v : violations_) {
    std::fprintf(stderr, "%s: %s\n", program_.c_str(), v.c_str());
  }
  std::exit(2);
}

}  // namespace tg
