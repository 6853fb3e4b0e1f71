// Run-time choice of the instruction set the SIMD kernels run on. Every kernel is compiled
// once per ISA (its own translation units, built with that ISA's flags, inside the namespace
// tg::kernels::avx2 or tg::kernels::avx512); the process picks one ISA the first time a kernel
// runs and keeps it. TG_ISA=avx2 or TG_ISA=avx512 in the environment forces one; unset or
// empty, the widest the CPU supports runs.
#ifndef TAPEGRAD_OPS_KERNELS_ISA_H_
#define TAPEGRAD_OPS_KERNELS_ISA_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace tg::kernels {

// The instruction sets the kernels are built for, narrowest first.
enum class Isa {
  kAvx2,    // AVX2 + FMA (x86-64-v3): 8 floats per register
  kAvx512,  // AVX-512 F, CD, DQ, BW and VL (x86-64-v4): 16 floats per register
};

// Every Isa, narrowest first.
inline constexpr Isa kAllIsas[] = {Isa::kAvx2, Isa::kAvx512};

// "avx2" or "avx512": the TG_ISA value that selects `isa`.
std::string_view IsaName(Isa isa);

// Whether this CPU (and the OS, which must save the wider registers) can run `isa`.
bool IsaSupported(Isa isa);

// The ISAs IsaSupported accepts, narrowest first.
std::vector<Isa> SupportedIsas();

// The ISA a TG_ISA value selects: nullopt or empty gives the widest supported one. An
// unknown name, or an ISA this CPU lacks, is InvalidArgument naming TG_ISA and the allowed
// values.
absl::StatusOr<Isa> IsaFromSetting(std::optional<std::string_view> tg_isa);

// IsaFromSetting applied to the environment's TG_ISA.
absl::StatusOr<Isa> IsaFromEnvironment();

// The ISA every kernel of this process runs on: IsaFromEnvironment(), evaluated once, on the
// first call. A bad TG_ISA prints the error to stderr and ends the process with status 2
// (kernels return no Status; a program that wants to report it itself calls
// IsaFromEnvironment() first).
Isa ActiveIsa();

// Whichever of the two per-ISA tables (function pointers, constants) belongs to ActiveIsa().
template <class Table>
const Table& ForActiveIsa(const Table& avx2, const Table& avx512) {
  return ActiveIsa() == Isa::kAvx512 ? avx512 : avx2;
}

}  // namespace tg::kernels

#endif  // TAPEGRAD_OPS_KERNELS_ISA_H_
