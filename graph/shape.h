/// \file
/// Shape: the dimensions of a dense row-major tensor. Prints as [32,128].
#pragma once

#include <array>
#include <cstdint>
#include <initializer_list>
#include <ostream>
#include <string>

#include "absl/strings/str_format.h"
#include "absl/types/span.h"
#include "fmt/format.h"
#include "base/check.h"

namespace tg {

/// The dimensions of a dense row-major tensor, rank <= kMaxRank. Prints as [32,128]
/// (operator<<, absl::StrFormat's \%s, fmt).
///
/// Dimensions live inline, so a Shape is trivially copyable, never
/// allocates, and GCC 12 sees every byte initialised (absl::InlinedVector set off false
/// -Wmaybe-uninitialized errors here under -Werror).
class Shape {
 public:
  /// The largest rank; a larger one is a bug (TG_CHECK).
  static constexpr int kMaxRank = 8;

  /// Rank 0: a scalar.
  Shape() = default;
  /// The shape with these dimensions: `Shape{32, 128}`.
  Shape(std::initializer_list<int64_t> dims) {
    for (int64_t d : dims) push_back(d);
  }
  /// The shape with these dimensions.
  explicit Shape(absl::Span<const int64_t> dims) {
    for (int64_t d : dims) push_back(d);
  }

  /// Number of dimensions.
  int rank() const { return rank_; }
  /// Dimension i (0 <= i < rank(), unchecked).
  int64_t dim(int i) const { return dims_[i]; }
  /// Dimension i, to set (0 <= i < rank(), unchecked).
  int64_t& operator[](int i) { return dims_[i]; }
  /// Dimension i (0 <= i < rank(), unchecked).
  int64_t operator[](int i) const { return dims_[i]; }
  /// The rank() dimensions.
  absl::Span<const int64_t> dims() const { return {dims_.data(), static_cast<size_t>(rank_)}; }
  /// Appends a dimension; rank kMaxRank already is a bug (TG_CHECK).
  void push_back(int64_t d) {
    TG_CHECK(rank_ < kMaxRank) << "tapegrad supports tensors of rank <= " << kMaxRank;
    dims_[rank_++] = d;
  }

  /// Product of all dimensions; 1 for a scalar (rank 0).
  int64_t num_elements() const { return Product(0, rank_); }
  /// Product of dimensions [begin, end).
  int64_t Product(int begin, int end) const {
    int64_t n = 1;
    for (int i = begin; i < end; ++i) n *= dims_[i];
    return n;
  }

  /// "[32,128]"; "[]" for a scalar.
  std::string ToString() const;
  /// Same rank and dimensions.
  friend bool operator==(const Shape& a, const Shape& b) { return a.dims() == b.dims(); }
  /// Prints ToString().
  friend std::ostream& operator<<(std::ostream& os, const Shape& s) { return os << s.ToString(); }

  /// Lets absl::StrFormat print a Shape with \%s.
  friend absl::FormatConvertResult<absl::FormatConversionCharSet::kString> AbslFormatConvert(
      const Shape& s, const absl::FormatConversionSpec&, absl::FormatSink* sink) {
    sink->Append(s.ToString());
    return {true};
  }

 private:
  std::array<int64_t, kMaxRank> dims_ = {};
  int rank_ = 0;
};

}  // namespace tg

/// \cond INTERNAL
template <>
struct fmt::formatter<tg::Shape> : fmt::formatter<std::string> {
  template <class Ctx>
  auto format(const tg::Shape& s, Ctx& ctx) const {
    return fmt::formatter<std::string>::format(s.ToString(), ctx);
  }
};
/// \endcond
