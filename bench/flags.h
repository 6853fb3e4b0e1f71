// The command line of the plain benchmark binaries (fma_peak, rnn_bench, onednn_lstm): usage
// text, parsing, and comma lists split for the checks of base/flag_checks.h.
#pragma once

#include <string>
#include <vector>

#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "base/flag_checks.h"

namespace tg::bench {

// Sets the usage text that --help prints, parses argv (absl exits on --help or a value it
// cannot parse) and records a stray positional argument as a violation in `checks`.
inline void ParseBenchFlags(int argc, char** argv, const char* usage, FlagChecks& checks) {
  absl::SetProgramUsageMessage(usage);
  const std::vector<char*> rest = absl::ParseCommandLine(argc, argv);
  if (rest.size() > 1) {
    checks.Require(false, absl::StrCat("unexpected argument '", rest[1], "' (see --help)"));
  }
}

// The entries of a comma-separated flag ("1,2" -> {"1", "2"}), empty ones dropped.
inline std::vector<std::string> CommaList(const std::string& flag) {
  return absl::StrSplit(flag, ',', absl::SkipEmpty());
}

}  // namespace tg::bench
