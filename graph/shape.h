/// \file
/// Shape: the dimensions of a dense row-major tensor. Prints as [32,128].
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <initializer_list>
#include <limits>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_format.h"
#include "absl/types/span.h"
#include "fmt/format.h"

namespace tg {

/// The dimensions of a dense row-major tensor, rank <= kMaxRank. Prints as [32,128]
/// (operator<<, absl::StrFormat's \%s, fmt).
///
/// Dimensions live inline, so a Shape is trivially copyable, never
/// allocates, and GCC 12 sees every byte initialised (absl::InlinedVector set off false
/// -Wmaybe-uninitialized errors here under -Werror).
///
/// A constructor cannot return a Status, so a Shape given more than kMaxRank dimensions
/// keeps the first kMaxRank and remembers how many it was given; Validate() then reports it. Every consumer
/// (Graph::Input/Fill/AddNode, ParameterStore::Add, CompiledGraph::Run) validates the shapes
/// it is handed, so such a shape is an error there, never an abort.
class Shape {
 public:
  /// The largest rank; more dimensions make an invalid shape (Validate).
  static constexpr int kMaxRank = 8;

  /// Rank 0: a scalar.
  Shape() = default;
  /// The shape with these dimensions: `Shape{32, 128}`.
  Shape(std::initializer_list<int64_t> dims) { Assign(dims.begin(), dims.size()); }
  /// The shape with these dimensions. Implicit, like the vector constructors.
  Shape(absl::Span<const int64_t> dims) {  // NOLINT(google-explicit-constructor)
    Assign(dims.data(), dims.size());
  }
  /// The shape with these dimensions. Implicit, like the vector constructors.
  Shape(absl::Span<const int> dims) {  // NOLINT(google-explicit-constructor)
    Assign(dims.data(), dims.size());
  }
  /// Implicit, so a std::vector<int64_t> (a NumPy or PyTorch shape) passes as a Shape.
  Shape(const std::vector<int64_t>& dims)  // NOLINT(google-explicit-constructor)
      : Shape(absl::Span<const int64_t>(dims)) {}
  /// Implicit, so a std::vector<int> passes as a Shape.
  Shape(const std::vector<int>& dims)  // NOLINT(google-explicit-constructor)
      : Shape(absl::Span<const int>(dims)) {}

  /// Number of dimensions kept (at most kMaxRank).
  int rank() const { return rank_ < kMaxRank ? rank_ : kMaxRank; }
  /// Number of dimensions given, kept or not: above kMaxRank for an invalid shape.
  int requested_rank() const { return rank_; }
  /// Dimension i (0 <= i < rank(), unchecked).
  int64_t dim(int i) const { return dims_[i]; }
  /// Dimension i, to set (0 <= i < rank(), unchecked).
  int64_t& operator[](int i) { return dims_[i]; }
  /// Dimension i (0 <= i < rank(), unchecked).
  int64_t operator[](int i) const { return dims_[i]; }
  /// The rank() dimensions.
  absl::Span<const int64_t> dims() const { return {dims_.data(), static_cast<size_t>(rank())}; }
  /// Appends a dimension; past kMaxRank it is dropped but counted (Validate reports it).
  void push_back(int64_t d) {
    if (rank_ < kMaxRank) dims_[rank_] = d;
    ++rank_;
  }

  /// OK for a usable shape. InvalidArgument for a rank above kMaxRank or a negative
  /// dimension; ResourceExhausted if the element count overflows int64. The message names
  /// the shape; callers prefix the op or parameter.
  absl::Status Validate() const;
  /// The element count, or nullopt if the shape is invalid (see Validate).
  std::optional<int64_t> CheckedNumElements() const;

  /// Product of all dimensions; 1 for a scalar (rank 0). Meaningful for a valid shape only.
  int64_t num_elements() const { return Product(0, rank()); }
  /// Product of dimensions [begin, end).
  int64_t Product(int begin, int end) const {
    int64_t n = 1;
    for (int i = begin; i < end; ++i) n *= dims_[i];
    return n;
  }

  /// "[32,128]"; "[]" for a scalar; "[1,1,1,1,1,1,1,1,+1 more]" for one of rank 9.
  std::string ToString() const;
  /// Same rank (dropped dimensions counted) and dimensions.
  friend bool operator==(const Shape& a, const Shape& b) {
    return a.rank_ == b.rank_ && a.dims() == b.dims();
  }
  /// Prints ToString().
  friend std::ostream& operator<<(std::ostream& os, const Shape& s) { return os << s.ToString(); }

  /// Lets absl::StrFormat print a Shape with \%s.
  friend absl::FormatConvertResult<absl::FormatConversionCharSet::kString> AbslFormatConvert(
      const Shape& s, const absl::FormatConversionSpec&, absl::FormatSink* sink) {
    sink->Append(s.ToString());
    return {true};
  }

 private:
  // Keeps the first kMaxRank of n dimensions and counts them all (no branch per element:
  // GCC 12 reports a false -Wmaybe-uninitialized on a push_back loop here).
  template <class T>
  void Assign(const T* dims, size_t n) {
    const size_t kept = n < kMaxRank ? n : kMaxRank;
    for (size_t i = 0; i < kept; ++i) dims_[i] = dims[i];
    rank_ = static_cast<int>(std::min<size_t>(n, std::numeric_limits<int>::max()));
  }

  std::array<int64_t, kMaxRank> dims_ = {};
  int rank_ = 0;  // dimensions given; those past kMaxRank are not kept
};

/// How `in`, broadcast to `out` (NumPy rules), reads `out` seen as rows (every axis but the
/// last) of its last axis. Fused runs and mul_add take operands that keep `out`'s rows or
/// repeat one row.
struct RowRead {
  bool rows_kept;  ///< in's rows are out's rows
  bool rows_one;   ///< in has one row, repeated over out's rows
  int64_t last;    ///< in's last axis (1 for a scalar)
};
/// RowRead of `in` against `out`; nullopt if `in` has more axes than `out`.
std::optional<RowRead> ReadByRows(const Shape& in, const Shape& out);

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
