// The char model's run info and vocabulary on arbitrary bytes: LoadRunInfo reads them as an
// older checkpoint's <checkpoint>.json (beside a checkpoint whose metadata has no run info),
// RunInfoFromMetadata as "key=value" lines of a checkpoint's metadata, and
// CharVocab::Deserialize as a saved vocabulary. Either is
// refused with a Status or read; a vocabulary that is read serializes back to the same text
// and encodes its own characters as 0, 1, 2, ...
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include "examples/char_lm/run_info.h"
#include "examples/common/text_data.h"
#include "models/safetensors.h"
#include "fuzz/scratch_file.h"

namespace {

void Require(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "run_info fuzz: %s\n", what);
    std::abort();
  }
}

void CheckVocabulary(const std::string& text) {
  absl::StatusOr<tg::examples::CharVocab> vocab = tg::examples::CharVocab::Deserialize(text);
  if (!vocab.ok()) return;
  Require(vocab->Serialize() == text, "a vocabulary does not serialize back to its text");
  absl::StatusOr<std::vector<int32_t>> ids = vocab->Encode(text);
  Require(ids.ok(), "a vocabulary cannot encode its own characters");
  for (size_t i = 0; i < ids->size(); ++i) {
    Require((*ids)[i] == static_cast<int32_t>(i), "a vocabulary's ids are not 0, 1, 2, ...");
    Require(vocab->Decode((*ids)[i]) == tg::examples::EncodeUtf8(vocab->chars()[i]),
            "Decode disagrees with the vocabulary's characters");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // A checkpoint without run info in its metadata, so LoadRunInfo reads the .json beside it.
  static const std::string checkpoint = [] {
    std::string path = tg::fuzz::ScratchPath("char_lm.safetensors");
    Require(tg::WriteSafetensors(path, {}).ok(), "cannot write the scratch checkpoint");
    return path;
  }();
  tg::fuzz::WriteScratch(checkpoint + ".json", data, size);
  absl::StatusOr<tg::examples::RunInfo> info = tg::examples::LoadRunInfo(checkpoint);
  if (info.ok()) CheckVocabulary(info->vocab);

  const std::string text(reinterpret_cast<const char*>(data), size);
  std::map<std::string, std::string> metadata;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    const std::string line = text.substr(start, end - start);
    const size_t eq = line.find('=');
    if (eq != std::string::npos) metadata[line.substr(0, eq)] = line.substr(eq + 1);
    start = end + 1;
  }
  absl::StatusOr<tg::examples::RunInfo> from_metadata =
      tg::examples::RunInfoFromMetadata(metadata, "fuzz input");
  if (from_metadata.ok()) CheckVocabulary(from_metadata->vocab);
  CheckVocabulary(std::string(reinterpret_cast<const char*>(data), size));
  return 0;
}
