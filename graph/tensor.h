// Tensor: a typed, shaped, non-owning view of dense row-major memory. Memory comes from an
// Arena (64-byte aligned allocations) or a Parameter's buffer; a view (one step split out of
// [T,B,I]) may start anywhere, so kernels never assume alignment.
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

class Tensor {
 public:
  Tensor() = default;
  Tensor(void* data, DType dtype, Shape shape)
      : data_(static_cast<std::byte*>(data)), dtype_(dtype), shape_(std::move(shape)) {}

  DType dtype() const { return dtype_; }
  const Shape& shape() const { return shape_; }
  int64_t num_elements() const { return shape_.num_elements(); }
  size_t num_bytes() const { return static_cast<size_t>(num_elements()) * SizeOf(dtype_); }
  bool has_data() const { return data_ != nullptr || num_elements() == 0; }

  void* raw() const { return data_; }
  template <class T>
  T* data() const {
    TG_CHECK(DTypeOf<T>() == dtype_) << "tensor holds " << DTypeName(dtype_);
    return reinterpret_cast<T*>(data_);
  }
  template <class T>
  std::span<T> span() const {
    return {data<T>(), static_cast<size_t>(num_elements())};
  }

  // A view of `shape` starting `element_offset` elements into this tensor.
  Tensor View(int64_t element_offset, Shape shape) const {
    return Tensor(data_ + element_offset * static_cast<int64_t>(SizeOf(dtype_)), dtype_,
                  std::move(shape));
  }
  void SetZero() const;
  void CopyFrom(const Tensor& src) const;

 private:
  std::byte* data_ = nullptr;
  DType dtype_ = DType::kF32;
  Shape shape_;
};

// Owning 64-byte-aligned storage, for tensors that outlive a graph (parameters, host copies).
struct AlignedFree {
  void operator()(void* p) const { std::free(p); }
};
using AlignedBuffer = std::unique_ptr<std::byte, AlignedFree>;
AlignedBuffer AllocateAligned(size_t bytes);

}  // namespace tg
