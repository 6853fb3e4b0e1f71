// Whether this test binary is built with a sanitizer (ASan, TSan, MSan; UBSan comes with ASan
// in scripts/test.sh --sanitize). Tests that replace the allocator or that are too slow there
// read it.
#pragma once

#if !defined(__has_feature)
#define __has_feature(x) 0
#endif
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__) || \
    __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || \
    __has_feature(memory_sanitizer)
#define TG_SANITIZER_BUILD 1
#else
#define TG_SANITIZER_BUILD 0
#endif

namespace tg::testing {
inline constexpr bool kSanitizerBuild = TG_SANITIZER_BUILD != 0;
}  // namespace tg::testing
