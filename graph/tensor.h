/// \file
/// Tensor: a typed, shaped, non-owning view of dense row-major memory. Memory comes from an
/// Arena (64-byte aligned allocations) or a Parameter's buffer; a view (one step split out of
/// [T,B,I]) may start anywhere, so kernels never assume alignment.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <span>

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
  /// The elements as T; T must match dtype() (a bug otherwise, TG_CHECK).
  template <class T>
  T* data() const {
    TG_CHECK(DTypeOf<T>() == dtype_) << "tensor holds " << DTypeName(dtype_);
    return reinterpret_cast<T*>(data_);
  }
  /// The elements as a span of T; T must match dtype() (TG_CHECK).
  template <class T>
  std::span<T> span() const {
    return {data<T>(), static_cast<size_t>(num_elements())};
  }

  /// A view of `shape` starting `element_offset` elements into this tensor.
  Tensor View(int64_t element_offset, Shape shape) const {
    return Tensor(data_ + element_offset * static_cast<int64_t>(SizeOf(dtype_)), dtype_,
                  std::move(shape));
  }
  /// Writes zeros over every element.
  void SetZero() const;
  /// Copies `src`'s elements in; dtype and element count must match (TG_CHECK), shapes may
  /// differ. The two may overlap.
  void CopyFrom(const Tensor& src) const;

 private:
  std::byte* data_ = nullptr;
  DType dtype_ = DType::kF32;
  Shape shape_;
};

/// The deleter of an AlignedBuffer (std::free).
struct AlignedFree {
  /// Frees `p`.
  void operator()(void* p) const { std::free(p); }
};
/// Owning 64-byte-aligned storage, for tensors that outlive a graph (parameters, host copies).
using AlignedBuffer = std::unique_ptr<std::byte, AlignedFree>;
/// `bytes` rounded up to a multiple of 64 (at least 64), 64-byte aligned and uninitialised.
/// Running out of memory is fatal (TG_CHECK).
AlignedBuffer AllocateAligned(size_t bytes);

}  // namespace tg
