#include "examples/common/flags.h"

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/flags/usage_config.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace tg::examples {

void ParseFlags(int argc, char** argv, const char* example_name, const char* usage) {
  absl::SetProgramUsageMessage(usage);  // absl prints it after "<program>: "
  static std::string own_dir;  // the predicate below outlives this call
  own_dir = absl::StrCat("examples/", example_name, "/");
  absl::FlagsUsageConfig config;
  config.contains_help_flags = [](absl::string_view file) { return absl::StrContains(file, own_dir); };
  config.contains_helpshort_flags = config.contains_help_flags;
  absl::SetFlagsUsageConfig(config);
  std::vector<char*> rest = absl::ParseCommandLine(argc, argv);
  if (rest.size() > 1) {
    std::fprintf(stderr, "%s: unexpected argument '%s' (see --help)\n", example_name, rest[1]);
    std::exit(2);
  }
}

}  // namespace tg::examples
