// ReadSafetensors on arbitrary bytes: a file is either read (and then writes back and reads
// again to the same tensors and metadata) or refused with a Status; never a crash.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "fuzz/scratch_file.h"
#include "models/safetensors.h"

namespace {

void Require(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "safetensors fuzz: %s\n", what);
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string path = tg::fuzz::ScratchPath("in.safetensors");
  static const std::string copy = tg::fuzz::ScratchPath("copy.safetensors");
  tg::fuzz::WriteScratch(path, data, size);
  absl::StatusOr<tg::SafetensorsFile> file = tg::ReadSafetensors(path);
  if (!file.ok()) return 0;
  for (const tg::NamedTensor& t : file->tensors) {
    Require(t.bytes.size() == static_cast<size_t>(t.num_elements()) * tg::SizeOf(t.dtype),
            "byte count differs from the shape");
    Require(t.ToDoubles().size() == t.bytes.size() / tg::SizeOf(t.dtype), "ToDoubles size");
  }
  // What was read writes back and reads again unchanged.
  std::vector<tg::NamedTensorView> views;
  for (tg::NamedTensor& t : file->tensors) views.push_back({t.name, t.view()});
  absl::Status written = tg::WriteSafetensors(copy, views, file->metadata);
  Require(written.ok(), "a file that was read could not be written back");
  absl::StatusOr<tg::SafetensorsFile> again = tg::ReadSafetensors(copy);
  Require(again.ok(), "a written file could not be read");
  Require(again->metadata == file->metadata, "metadata changed in a round trip");
  Require(again->tensors.size() == file->tensors.size(), "tensor count changed in a round trip");
  for (size_t i = 0; i < views.size(); ++i) {
    const tg::NamedTensor& a = file->tensors[i];
    const tg::NamedTensor* b = again->Find(a.name);
    Require(b != nullptr && b->dtype == a.dtype && b->shape == a.shape && b->bytes == a.bytes,
            "a tensor changed in a round trip");
  }
  return 0;
}
