#include "ops/kernels/isa.h"

#include <cstdio>
#include <cstdlib>
#include <iterator>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "ops/kernels/xsimd_include.h"

namespace tg::kernels {
namespace {

std::string Names(const std::vector<Isa>& isas) {
  std::string out;
  for (Isa isa : isas) {
    if (!out.empty()) out += ", ";
    out += IsaName(isa);
  }
  return out;
}

}  // namespace

std::string_view IsaName(Isa isa) {
  switch (isa) {
    case Isa::kAvx2:
      return "avx2";
    case Isa::kAvx512:
      return "avx512";
  }
  return "unknown";
}

bool IsaSupported(Isa isa) {
  // xsimd reads CPUID only; GCC's __builtin_cpu_supports also checks that the OS saves the
  // registers (XCR0), and it knows AVX-512 VL, which x86-64-v4 code may use.
  const xsimd::detail::supported_arch cpu = xsimd::available_architectures();
  switch (isa) {
    case Isa::kAvx2:
      return cpu.fma3_avx2 && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    case Isa::kAvx512:
      return cpu.avx512bw && __builtin_cpu_supports("avx512f") &&
             __builtin_cpu_supports("avx512cd") && __builtin_cpu_supports("avx512dq") &&
             __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl");
  }
  return false;
}

std::vector<Isa> SupportedIsas() {
  std::vector<Isa> out;
  for (Isa isa : kAllIsas) {
    if (IsaSupported(isa)) out.push_back(isa);
  }
  return out;
}

absl::StatusOr<Isa> IsaFromSetting(std::optional<std::string_view> tg_isa) {
  const std::vector<Isa> supported = SupportedIsas();
  if (supported.empty()) {
    return absl::FailedPreconditionError(
        "this CPU lacks AVX2 and FMA, which tapegrad's kernels need at least");
  }
  if (!tg_isa.has_value() || tg_isa->empty()) return supported.back();
  const std::string value(*tg_isa);
  for (Isa isa : kAllIsas) {
    if (value != IsaName(isa)) continue;
    if (IsaSupported(isa)) return isa;
    return absl::InvalidArgumentError("TG_ISA=" + value + ": this CPU does not support " + value +
                                      "; allowed values here: " + Names(supported) +
                                      " (or unset for the widest)");
  }
  return absl::InvalidArgumentError(
      "TG_ISA=" + value + ": unknown instruction set; allowed values: " +
      Names({std::begin(kAllIsas), std::end(kAllIsas)}) + " (this CPU supports " +
      Names(supported) + "; unset for the widest)");
}

absl::StatusOr<Isa> IsaFromEnvironment() {
  const char* value = std::getenv("TG_ISA");
  return IsaFromSetting(value == nullptr ? std::nullopt
                                         : std::optional<std::string_view>(value));
}

Isa ActiveIsa() {
  static const Isa active = [] {
    const absl::StatusOr<Isa> isa = IsaFromEnvironment();
    if (!isa.ok()) {
      std::fprintf(stderr, "tapegrad: %s\n", std::string(isa.status().message()).c_str());
      std::exit(2);
    }
    return *isa;
  }();
  return active;
}

}  // namespace tg::kernels
