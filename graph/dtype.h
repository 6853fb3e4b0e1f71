/// \file
/// Element types of tensors: f32 for training, f64 for gradient checks, i32 for token ids
/// and class targets.
#pragma once

#include <cstddef>
#include <cstdint>
#include <ostream>
#include <string_view>

#include "absl/strings/string_view.h"
#include "fmt/format.h"

namespace tg {

/// The element type of a tensor. Prints as its DTypeName (operator<<, fmt).
enum class DType : uint8_t {
  kF32,  ///< float
  kF64,  ///< double
  kI32   ///< int32_t
};

/// Bytes per element.
constexpr size_t SizeOf(DType t) { return t == DType::kF64 ? 8 : 4; }
/// Whether `t` is f32 or f64.
constexpr bool IsFloat(DType t) { return t == DType::kF32 || t == DType::kF64; }

/// "f32", "f64" or "i32".
constexpr std::string_view DTypeName(DType t) {
  switch (t) {
    case DType::kF32: return "f32";
    case DType::kF64: return "f64";
    case DType::kI32: return "i32";
  }
  return "?";
}

/// Prints DTypeName(t).
inline std::ostream& operator<<(std::ostream& os, DType t) { return os << DTypeName(t); }

/// The DType that holds a C++ element type (float, double or int32_t), for typed views.
template <class T> constexpr DType DTypeOf();
/// \cond INTERNAL
template <> constexpr DType DTypeOf<float>() { return DType::kF32; }
template <> constexpr DType DTypeOf<double>() { return DType::kF64; }
template <> constexpr DType DTypeOf<int32_t>() { return DType::kI32; }
/// \endcond

}  // namespace tg

/// \cond INTERNAL
template <>
struct fmt::formatter<tg::DType> : fmt::formatter<std::string_view> {
  template <class Ctx>
  auto format(tg::DType t, Ctx& ctx) const {
    return fmt::formatter<std::string_view>::format(tg::DTypeName(t), ctx);
  }
};

#if !defined(ABSL_USES_STD_STRING_VIEW)
// Debian's Abseil is built with its own string_view (Status::message() returns one):
// let fmt print it.
template <>
struct fmt::formatter<absl::string_view> : fmt::formatter<std::string_view> {
  template <class Ctx>
  auto format(absl::string_view s, Ctx& ctx) const {
    return fmt::formatter<std::string_view>::format(std::string_view(s.data(), s.size()), ctx);
  }
};
#endif
/// \endcond
