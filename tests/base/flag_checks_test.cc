// FlagChecks: each rule's message names the flag, the value and what is allowed; values inside
// the rules pass; ExitIfAny ends the program with status 2 and one line per violation.
#include "base/flag_checks.h"

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace tg {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

TEST(FlagChecksTest, ValuesInsideTheRulesPass) {
  const std::string file = (std::filesystem::path(::testing::TempDir()) / "flag_checks.txt").string();
  std::ofstream(file) << "text";
  FlagChecks checks("prog");
  checks.AtLeast("batch", int64_t{1}, 1)
      .AtLeast("threads", 4, 1)
      .AtMost("replicas", 8, 8)
      .AtLeast("minutes", 0.0, 0)
      .GreaterThan("lr", 1e-9, 0)
      .InRange("dropout", 0.0, 0, 1, Interval::kClosedOpen)
      .InRange("min_lr", 1.0, 0, 1, Interval::kClosed)
      .InRange("fraction", 0.5, 0, 1, Interval::kOpen)
      .Finite("bias", -3)
      .OneOf("cell", "gru", {"lstm", "gru"})
      .NotEmpty("cells", {"lstm"})
      .EachOneOf("cells", {"lstm", "gru"}, {"lstm", "gru", "rnn"})
      .EachAtLeast("lengths", {"2", "50"}, 2)
      .EachGreaterThan("minutes", {"0.5", "2"}, 0)
      .EachGreaterThan("minutes", {}, 0)
      .FileExists("data", file)
      .Require(true, "never reported");
  EXPECT_THAT(checks.violations(), IsEmpty());
  checks.ExitIfAny();  // returns: nothing to report
}

TEST(FlagChecksTest, IntegerBoundsNameTheFlagAndTheLimit) {
  FlagChecks checks("prog");
  checks.AtLeast("batch", int64_t{0}, 1).AtLeast("seq", -5, 1).AtMost("replicas", 9, 8, "--batch (8)");
  EXPECT_THAT(checks.violations(),
              ElementsAre("--batch=0 is out of range: must be at least 1",
                          "--seq=-5 is out of range: must be at least 1",
                          "--replicas=9 is out of range: must be at most --batch (8)"));
}

TEST(FlagChecksTest, RealBoundsRefuseNanAndInfinity) {
  const double inf = std::numeric_limits<double>::infinity();
  FlagChecks checks("prog");
  checks.GreaterThan("temperature", -1, 0)
      .GreaterThan("lr", std::nan(""), 0)
      .AtLeast("minutes", inf, 0)
      .Finite("clip", -inf);
  EXPECT_THAT(checks.violations(),
              ElementsAre("--temperature=-1 is out of range: must be greater than 0",
                          "--lr=nan is out of range: must be a finite number greater than 0",
                          "--minutes=inf is out of range: must be a finite number at least 0",
                          "--clip=-inf is out of range: must be a finite number"));
}

TEST(FlagChecksTest, IntervalsShowWhichEndsAreAllowed) {
  FlagChecks checks("prog");
  checks.InRange("dropout", 1, 0, 1, Interval::kClosedOpen)
      .InRange("valid_fraction", 0, 0, 1, Interval::kOpen)
      .InRange("min_lr", 0.5, 0, 0.004, Interval::kClosed)
      .InRange("average", std::nan(""), 0, 1, Interval::kClosedOpen);
  EXPECT_THAT(checks.violations(),
              ElementsAre("--dropout=1 is out of range: must be in [0, 1)",
                          "--valid_fraction=0 is out of range: must be in (0, 1)",
                          "--min_lr=0.5 is out of range: must be in [0, 0.004]",
                          "--average=nan is out of range: must be in [0, 1)"));
}

TEST(FlagChecksTest, EnumeratedAndListFlagsListWhatIsAllowed) {
  FlagChecks checks("prog");
  checks.OneOf("cell", "transformer", {"lstm", "gru", "rnn", "lnlstm"})
      .NotEmpty("cells", {})
      .EachOneOf("cells", {"lstm", "foo"}, {"lstm", "rnn", "gru"})
      .EachAtLeast("lengths", {"50", "1"}, 2)
      .EachAtLeast("threads", {"2", "x"}, 1)
      .EachGreaterThan("eval_at_minutes", {"1", "-2"}, 0);
  EXPECT_THAT(checks.violations(),
              ElementsAre("--cell=transformer is not allowed: must be one of lstm, gru, rnn, lnlstm",
                          "--cells is empty: must list at least one entry",
                          "--cells=lstm,foo is not allowed: 'foo' is not one of lstm, rnn, gru",
                          "--lengths=50,1 is out of range: each entry must be a whole number at "
                          "least 2 ('1' is not)",
                          "--threads=2,x is out of range: each entry must be a whole number at "
                          "least 1 ('x' is not)",
                          "--eval_at_minutes=1,-2 is out of range: each entry must be a number "
                          "greater than 0 ('-2' is not)"));
}

TEST(FlagChecksTest, PathsMustNameAnExistingFile) {
  const std::string dir = ::testing::TempDir();
  const std::string missing = (std::filesystem::path(dir) / "no_such_file.txt").string();
  FlagChecks checks("prog");
  checks.FileExists("data", missing).FileExists("csv", dir).FileExists("checkpoint", "");
  EXPECT_THAT(checks.violations(),
              ElementsAre("--data=" + missing + ": no such file",
                          "--csv=" + dir + " is a directory, not a file",
                          "--checkpoint= is empty: must name a file"));
}

TEST(FlagChecksDeathTest, ExitIfAnyExitsWithStatusTwoAndOneLinePerViolation) {
  FlagChecks checks("char_lm");
  checks.AtLeast("batch", 0, 1);
  EXPECT_EXIT(checks.ExitIfAny(), ::testing::ExitedWithCode(2),
              "^char_lm: --batch=0 is out of range: must be at least 1\n$");
  checks.Require(false, "--replicas=2 needs compiled training");
  EXPECT_EXIT(checks.ExitIfAny(), ::testing::ExitedWithCode(2),
              "^char_lm: --batch=0 .*\nchar_lm: --replicas=2 needs compiled training\n$");
}

}  // namespace
}  // namespace tg
