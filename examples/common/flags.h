// Command-line parsing shared by the examples: absl flags, with --help listing the flags of
// the example's own directory (absl's default looks for a file named <program>.cc, and ours
// are main.cc), and stray positional arguments refused.
#pragma once

namespace tg::examples {

// Sets the usage text, parses argv (exits on --help or a bad flag, as absl does) and exits
// with status 2 on an unexpected positional argument.
void ParseFlags(int argc, char** argv, const char* example_name, const char* usage);

}  // namespace tg::examples
