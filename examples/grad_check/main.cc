// Runs CheckGradients in float64 over every op's sample inputs and prints one row per sample:
// op, input shapes, max absolute and relative error, pass. Exit status 1 if any failed.
#include <cstdio>
#include <set>
#include <string>

#include "absl/strings/str_join.h"
#include "fmt/format.h"
#include "ops/registry.h"
#include "tests/ops/op_samples.h"

int main() {
  using tg::testing::OpSample;
  int passed = 0, failed = 0;
  std::set<std::string> covered;
  std::printf("%-15s %-28s %-22s %10s %10s  %s\n", "op", "variant", "inputs", "max abs",
              "max rel", "result");
  for (const OpSample& sample : tg::testing::OpSamples()) {
    std::string shapes = absl::StrJoin(sample.inputs, " ", [](std::string* out, const auto& in) {
      out->append(fmt::format("{}{}", in.shape, in.ids.empty() ? "" : "i32"));
    });
    tg::GradCheckReport report;
    absl::Status s = tg::testing::CheckOpSample(sample, {}, &report);
    s.ok() ? ++passed : ++failed;
    covered.insert(sample.op);
    std::printf("%-15s %-28s %-22s %10.2e %10.2e  %s\n", sample.op.c_str(),
                sample.variant.c_str(), shapes.c_str(), report.max_abs_error,
                report.max_rel_error, s.ok() ? "pass" : "FAIL");
    if (!s.ok()) std::printf("%s\n", std::string(s.message()).c_str());
  }
  // An op without samples is a failure too: nothing would check its gradient.
  for (const tg::OpDef* op : tg::BuiltinOps()) {
    if (!covered.contains(std::string(op->name))) {
      std::printf("%-15s has no sample inputs  FAIL\n", std::string(op->name).c_str());
      ++failed;
    }
  }
  std::printf("ops covered: %zu\n", covered.size());
  std::printf("grad_check: %d passed, %d failed\n", passed, failed);
  return failed == 0 ? 0 : 1;
}
