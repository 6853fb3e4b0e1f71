/// \file
/// The safetensors file format (https://github.com/huggingface/safetensors), for checkpoints
/// and for exchanging tensors with PyTorch: an 8-byte little-endian u64 header length N, N
/// bytes of JSON {"name": {"dtype", "shape", "data_offsets": [begin, end]}, ...,
/// "__metadata__": {string: string}} padded with spaces to a multiple of 8, then the raw
/// little-endian data, offsets relative to the start of the data section. tapegrad reads and
/// writes the dtypes F32, F64 and I32.
#pragma once

#include <cstddef>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "base/check.h"
#include "graph/tensor.h"

namespace tg {

/// One tensor read from a file into host memory (dense, row-major).
struct NamedTensor {
  std::string name;  ///< Its key in the file.
  DType dtype = DType::kF32;  ///< Element type.
  Shape shape;  ///< Dimensions.
  std::vector<std::byte> bytes;  ///< num_elements * SizeOf(dtype) bytes, little-endian.

  /// Product of the dimensions.
  int64_t num_elements() const { return shape.num_elements(); }
  /// The elements as T; T must match dtype (a bug otherwise, checked).
  template <class T>
  std::span<const T> values() const {
    TG_CHECK(DTypeOf<T>() == dtype) << "tensor '" << name << "' holds " << DTypeName(dtype);
    return {reinterpret_cast<const T*>(bytes.data()), static_cast<size_t>(num_elements())};
  }
  /// The elements converted to double, whatever the dtype (for comparisons in tests).
  std::vector<double> ToDoubles() const;
  /// A (mutable) view of the bytes, for Tensor::CopyFrom and friends.
  Tensor view() { return Tensor(bytes.data(), dtype, shape); }
};

/// A whole file: the tensors in data order and the "__metadata__" map.
struct SafetensorsFile {
  std::vector<NamedTensor> tensors;  ///< In the order of their data.
  std::map<std::string, std::string> metadata;  ///< The "__metadata__" entries; may be empty.

  /// The tensor called `name`, or nullptr.
  const NamedTensor* Find(const std::string& name) const;
};

/// A tensor to write: its name and a view of its data (f32, f64 or i32).
struct NamedTensorView {
  std::string name;  ///< Its key in the file.
  Tensor tensor;  ///< The data, read when written.
};

/// Reads and fully validates `path`: sizes, header JSON, dtypes, shapes, offsets in range and
/// not overlapping. Errors are NotFound/PermissionDenied for an unreadable file, DataLoss for
/// a malformed one; messages begin with `what` and the quoted path and give byte offsets.
absl::StatusOr<SafetensorsFile> ReadSafetensors(const std::string& path,
                                                const std::string& what = "safetensors file");

/// The "__metadata__" map of `path`, whose header is validated as by ReadSafetensors; the
/// tensors' data is not read.
absl::StatusOr<std::map<std::string, std::string>> ReadSafetensorsMetadata(
    const std::string& path, const std::string& what = "safetensors file");

/// Writes `tensors` (packed in the given order) and `metadata` atomically: to a new file
/// path + ".tmp.XXXXXX" (mkstemp, mode 0644) in the same directory, fsync, rename over
/// `path`, fsync the directory. So `path` always holds a complete file, the old or the new,
/// even if the process is killed at any moment (a killed writer leaves its temp file). On
/// failure the temp file is removed, a previous file at `path` is untouched, and the error
/// names the path and the failing syscall. Names must be unique, valid UTF-8 and not
/// "__metadata__".
absl::Status WriteSafetensors(const std::string& path, absl::Span<const NamedTensorView> tensors,
                              const std::map<std::string, std::string>& metadata = {});

}  // namespace tg
