// Run-time ISA dispatch (ops/kernels/isa.h): TG_ISA picks the kernels' instruction set, a bad
// value is refused with the variable and the allowed values, and the chosen ISA is the one
// that runs. ctest runs this binary once as is (the widest ISA) and once with TG_ISA=avx2.
#include "ops/kernels/isa.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "ops/kernels/fma_chains.h"
#include "ops/kernels/reduce.h"
#include "tests/isa/constant_copy_avx512.h"

namespace tg::kernels {
namespace {

TEST(IsaTest, UnsetOrEmptyChoosesTheWidestSupported) {
  const std::vector<Isa> supported = SupportedIsas();
  ASSERT_FALSE(supported.empty());
  EXPECT_EQ(supported.front(), Isa::kAvx2);  // the build's baseline
  EXPECT_EQ(IsaFromSetting(std::nullopt).value(), supported.back());
  EXPECT_EQ(IsaFromSetting("").value(), supported.back());
  EXPECT_EQ(IsaFromSetting("avx2").value(), Isa::kAvx2);
  for (Isa isa : supported) EXPECT_EQ(IsaFromSetting(IsaName(isa)).value(), isa);
}

TEST(IsaTest, UnknownValueNamesTheVariableAndTheAllowedValues) {
  for (const char* bad : {"sse2", "AVX2", "avx-512", " avx2"}) {
    const absl::StatusOr<Isa> isa = IsaFromSetting(bad);
    ASSERT_FALSE(isa.ok()) << bad;
    EXPECT_EQ(isa.status().code(), absl::StatusCode::kInvalidArgument);
    const std::string message(isa.status().message());
    EXPECT_TRUE(absl::StrContains(message, std::string("TG_ISA=") + bad)) << message;
    EXPECT_TRUE(absl::StrContains(message, "allowed values: avx2, avx512")) << message;
  }
}

TEST(IsaTest, UnsupportedValueIsRefused) {
  bool any = false;
  for (Isa isa : kAllIsas) {
    if (IsaSupported(isa)) continue;
    any = true;
    const absl::StatusOr<Isa> got = IsaFromSetting(IsaName(isa));
    ASSERT_FALSE(got.ok());
    EXPECT_TRUE(absl::StrContains(got.status().message(), "does not support"));
    EXPECT_TRUE(absl::StrContains(got.status().message(), "TG_ISA="));
  }
  if (!any) GTEST_SKIP() << "this CPU supports every ISA the kernels are built for";
}

// The kernels really run on the ISA TG_ISA names: the active one's registers hold 8 floats
// under AVX2 and 16 under AVX-512.
TEST(IsaTest, KernelsRunOnTheIsaTG_ISANames) {
  const absl::StatusOr<Isa> want = IsaFromEnvironment();
  ASSERT_TRUE(want.ok()) << want.status();
  EXPECT_EQ(ActiveIsa(), *want);
  EXPECT_EQ(ActiveFloatLanes(), *want == Isa::kAvx512 ? 16 : 8);
  if (const char* env = std::getenv("TG_ISA"); env != nullptr && *env != '\0') {
    EXPECT_EQ(IsaName(ActiveIsa()), env);
  }
}

// g++ 12.2 with AVX-512 stores {1, 1, 1, 0} copied from a local constant array as four ones
// unless by-pieces copies are limited to 128 bits (TG_GCC_AVX512_WORKAROUND, in the AVX-512
// kernels' flags): the reproducer, built with those flags, must keep its zeros.
TEST(IsaTest, Avx512ConstantCopyKeepsTrailingZeros) {
  if (!IsaSupported(Isa::kAvx512)) GTEST_SKIP() << "no AVX-512 on this CPU";
  double four[4] = {-1, -1, -1, -1};
  tg::testing::avx512_repro::CopyOneOneOneZero(four);
  EXPECT_EQ(four[0], 1.0);
  EXPECT_EQ(four[1], 1.0);
  EXPECT_EQ(four[2], 1.0);
  EXPECT_EQ(four[3], 0.0);
  double eight[8];
  tg::testing::avx512_repro::CopySevenOnesZero(eight);
  for (int i = 0; i < 7; ++i) EXPECT_EQ(eight[i], 1.0) << i;
  EXPECT_EQ(eight[7], 0.0);
}

// A bad TG_ISA ends the process at its first kernel call, with status 2 and one line that
// names the variable and the allowed values.
TEST(IsaDeathTest, BadValueEndsTheProcessWithStatus2) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");  // a fresh process: ActiveIsa not chosen yet
  const char* old = std::getenv("TG_ISA");
  const std::optional<std::string> saved = old ? std::optional<std::string>(old) : std::nullopt;
  setenv("TG_ISA", "avx1024", 1);
  const float x[3] = {1, 2, 3};
  EXPECT_EXIT(Sum(x, 3), ::testing::ExitedWithCode(2),
              "TG_ISA=avx1024: unknown instruction set; allowed values: avx2, avx512");
  if (saved) {
    setenv("TG_ISA", saved->c_str(), 1);
  } else {
    unsetenv("TG_ISA");
  }
}

}  // namespace
}  // namespace tg::kernels
