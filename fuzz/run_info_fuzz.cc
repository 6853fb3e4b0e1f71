// The char model's checkpoint companions on arbitrary bytes: LoadRunInfo reads them as the
// run info (<checkpoint>.json), CharVocab::Deserialize as a saved vocabulary. Either is
// refused with a Status or read; a vocabulary that is read serializes back to the same text
// and encodes its own characters as 0, 1, 2, ...
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "examples/char_lm/run_info.h"
#include "examples/common/text_data.h"
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
  static const std::string checkpoint = tg::fuzz::ScratchPath("char_lm.safetensors");
  tg::fuzz::WriteScratch(checkpoint + ".json", data, size);
  absl::StatusOr<tg::examples::RunInfo> info = tg::examples::LoadRunInfo(checkpoint);
  if (info.ok()) CheckVocabulary(info->vocab);
  CheckVocabulary(std::string(reinterpret_cast<const char*>(data), size));
  return 0;
}
