// Runs CheckGradients in float64 over every op's sample inputs and every cell (4 BPTT steps)
// and prints one row each: name, inputs, max absolute and relative error, pass. Exit status 1
// if any failed.
#include <cstdio>
#include <set>
#include <string>

#include "absl/strings/str_join.h"
#include "examples/common/flags.h"
#include "fmt/format.h"
#include "ops/registry.h"
#include "testing/cell_samples.h"
#include "testing/op_samples.h"

int main(int argc, char** argv) {
  // No flags of its own: --help describes it, and a stray argument is refused (status 2).
  tg::examples::ParseFlags(argc, argv, "grad_check",
      "checks every op's and every cell's gradient against finite differences in float64 and\n"
      "prints one row each; exit status 1 if any fails.\n\n"
      "  grad_check");
  using tg::testing::OpSample;
  int passed = 0, failed = 0;
  std::set<std::string> covered;
  std::printf("%-18s %-26s %-22s %10s %10s  %s\n", "op", "variant", "inputs", "max abs",
              "max rel", "result");
  for (const OpSample& sample : tg::testing::OpSamples()) {
    std::string shapes = absl::StrJoin(sample.inputs, " ", [](std::string* out, const auto& in) {
      out->append(fmt::format("{}{}", in.shape, in.ids.empty() ? "" : "i32"));
    });
    tg::GradCheckReport report;
    absl::Status s = tg::testing::CheckOpSample(sample, {}, &report);
    s.ok() ? ++passed : ++failed;
    covered.insert(sample.op);
    std::printf("%-18s %-26s %-22s %10.2e %10.2e  %s\n", sample.op.c_str(),
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
  // Every cell and recurrent wrapper, through 4 BPTT steps, over parameters and inputs.
  for (const tg::testing::CellCheck& check : tg::testing::CellChecks()) {
    tg::GradCheckReport report;
    absl::Status s = check.run(&report);
    s.ok() ? ++passed : ++failed;
    std::printf("%-18s %-26s %-22s %10.2e %10.2e  %s\n", check.cell.c_str(),
                check.variant.c_str(), "x[4,3,3] h0[3,4]", report.max_abs_error,
                report.max_rel_error, s.ok() ? "pass" : "FAIL");
    if (!s.ok()) std::printf("%s\n", std::string(s.message()).c_str());
  }
  std::printf("ops covered: %zu, cells checked: %zu\n", covered.size(),
              tg::testing::CellChecks().size());
  std::printf("grad_check: %d passed, %d failed\n", passed, failed);
  return failed == 0 ? 0 : 1;
}
