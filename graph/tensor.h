/// \file
/// Tensor: a typed, shaped, non-owning view of dense row-major memory. Memory comes from an
/// Arena (64-byte aligned allocations) or a Parameter's buffer; a view (one step split out of
/// [T,B,I]) may start anywhere, so kernels never assume alignment.
///
/// Size limits: every tensor the library allocates (graph leaves and node outputs,
/// parameters) is first checked by ValidateTensorType: a valid shape (Shape::Validate), an
/// element count that fits int64, and at most MaxTensorBytes() bytes -- 16 GiB unless
/// SetMaxTensorBytes says otherwise. A tensor over the limit is ResourceExhausted naming the
/// op (or parameter) and the shape, instead of an allocation that takes the machine's memory
/// or fails.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <span>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "base/check.h"
#include "graph/dtype.h"
#include "graph/shape.h"

namespace tg {

/// A typed, shaped, non-owning view of dense row-major memory (see graph/tensor.h).
/// Copies share the memory; const methods may still write to it.
class Tensor {
 public:
  /// No memory, f32, rank 0.
  Tensor() = default;
  /// A view of `data`, which must hold shape.num_elements() elements of `dtype`.
  Tensor(void* data, DType dtype, Shape shape)
      : data_(static_cast<std::byte*>(data)), dtype_(dtype), shape_(std::move(shape)) {}

  /// Element type.
  DType dtype() const { return dtype_; }
  /// Dimensions.
  const Shape& shape() const { return shape_; }
  /// Product of the dimensions.
  int64_t num_elements() const { return shape_.num_elements(); }
  /// num_elements() times the element size.
  size_t num_bytes() const { return static_cast<size_t>(num_elements()) * SizeOf(dtype_); }
  /// Whether it has memory (or needs none: no elements).
  bool has_data() const { return data_ != nullptr || num_elements() == 0; }

  /// The first byte.
  void* raw() const { return data_; }
  /// The elements as T. T must match dtype(): a mismatch is a bug in the calling code (a
  /// wrong template argument, not bad data) and aborts (TG_CHECK). Where the dtype comes
  /// from data (a file, a feed), check dtype() first or use CheckedSpan<T>().
  template <class T>
  T* data() const {
    TG_CHECK(DTypeOf<T>() == dtype_) << "tensor holds " << DTypeName(dtype_);
    return reinterpret_cast<T*>(data_);
  }
  /// The elements as a span of T; T must match dtype() (as for data()).
  template <class T>
  std::span<T> span() const {
    return {data<T>(), static_cast<size_t>(num_elements())};
  }
  /// The elements as T, or InvalidArgument naming both dtypes if T is not dtype().
  template <class T>
  absl::StatusOr<std::span<T>> CheckedSpan() const {
    if (DTypeOf<T>() != dtype_) return DTypeMismatch(DTypeOf<T>());
    return span<T>();
  }

  /// A view of `shape` starting `element_offset` elements into this tensor.
  Tensor View(int64_t element_offset, Shape shape) const {
    return Tensor(data_ + element_offset * static_cast<int64_t>(SizeOf(dtype_)), dtype_,
                  std::move(shape));
  }
  /// Writes zeros over every element.
  void SetZero() const;
  /// Copies `src`'s elements in; shapes may differ and the two may overlap. InvalidArgument
  /// naming both dtypes and shapes (and nothing copied) unless the dtype and element count
  /// match.
  absl::Status CopyFrom(const Tensor& src) const;

 private:
  absl::Status DTypeMismatch(DType asked) const;

  std::byte* data_ = nullptr;
  DType dtype_ = DType::kF32;
  Shape shape_;
};

/// \cond INTERNAL
namespace internal {
inline std::atomic<size_t> max_tensor_bytes{size_t{16} << 30};
// The common case of ValidateTensorType in one pass, inline: every node pays for it.
inline bool FitsQuickly(const Shape& shape, DType dtype) {
  if (static_cast<uint8_t>(dtype) > static_cast<uint8_t>(DType::kI32) ||
      shape.requested_rank() > Shape::kMaxRank) {
    return false;
  }
  uint64_t bytes = SizeOf(dtype);
  bool overflow = false;
  for (int64_t d : shape.dims()) {
    if (d < 0) return false;
    overflow |= __builtin_mul_overflow(bytes, static_cast<uint64_t>(d), &bytes);
  }
  const size_t limit = max_tensor_bytes.load(std::memory_order_relaxed);
  return !overflow && (limit == 0 ? bytes <= uint64_t{INT64_MAX} : bytes <= limit);
}
absl::Status TensorTypeError(const Shape& shape, DType dtype);
}  // namespace internal
/// \endcond

/// Sets the most bytes one tensor may take (default 16 GiB; 0: no limit besides int64
/// element counts). Process-wide and thread-safe.
void SetMaxTensorBytes(size_t bytes);
/// The most bytes one tensor may take (SetMaxTensorBytes).
size_t MaxTensorBytes();

/// OK if a tensor of `dtype` and `shape` may be allocated: a known dtype (else
/// InvalidArgument), a valid shape (Shape::Validate: InvalidArgument for a rank above
/// Shape::kMaxRank or a negative dimension), and a size that counts in int64 and is at most
/// MaxTensorBytes() (else ResourceExhausted). Messages name the shape and dtype; callers
/// prefix the op or parameter.
inline absl::Status ValidateTensorType(const Shape& shape, DType dtype) {
  if (internal::FitsQuickly(shape, dtype)) return absl::OkStatus();
  return internal::TensorTypeError(shape, dtype);
}

/// The deleter of an AlignedBuffer (std::free).
struct AlignedFree {
  /// Frees `p`.
  void operator()(void* p) const { std::free(p); }
};
/// Owning 64-byte-aligned storage, for tensors that outlive a graph (parameters, host copies).
using AlignedBuffer = std::unique_ptr<std::byte, AlignedFree>;
/// `bytes` rounded up to a multiple of 64 (at least 64), 64-byte aligned and uninitialised;
/// ResourceExhausted naming the size if the system refuses it.
absl::StatusOr<AlignedBuffer> TryAllocateAligned(size_t bytes);
/// The same for bookkeeping buffers the size of something already allocated (optimizer
/// state the size of a parameter): running out of memory there is fatal (TG_CHECK).
AlignedBuffer AllocateAligned(size_t bytes);

}  // namespace tg
