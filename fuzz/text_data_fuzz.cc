// LoadUtf8Text on arbitrary bytes: refused with a Status (empty, or invalid UTF-8 at an
// offset) or read. Text that is read decodes to code points that encode back to the same
// bytes, and a vocabulary built from it encodes it with ids inside the vocabulary.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "examples/common/text_data.h"
#include "fuzz/scratch_file.h"

namespace {

void Require(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "text_data fuzz: %s\n", what);
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string path = tg::fuzz::ScratchPath("text.txt");
  tg::fuzz::WriteScratch(path, data, size);
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<std::string> text = tg::examples::LoadUtf8Text(path);
  Require(text.ok() == (size > 0 && tg::examples::CheckUtf8(bytes, "input").ok()),
          "LoadUtf8Text and CheckUtf8 disagree");
  // DecodeUtf8 takes any bytes (invalid ones become U+FFFD).
  const std::vector<char32_t> any = tg::examples::DecodeUtf8(bytes);
  Require(any.size() <= size, "more code points than bytes");
  if (!text.ok()) return 0;
  Require(*text == bytes, "LoadUtf8Text changed the bytes");
  std::string encoded;
  for (char32_t c : any) encoded += tg::examples::EncodeUtf8(c);
  Require(encoded == bytes, "decoding then encoding valid UTF-8 changed it");
  const tg::examples::CharVocab vocab = tg::examples::CharVocab::FromText(*text);
  absl::StatusOr<std::vector<int32_t>> ids = vocab.Encode(*text);
  Require(ids.ok() && ids->size() == any.size(), "a text's own vocabulary cannot encode it");
  for (int32_t id : *ids) Require(id >= 0 && id < vocab.size(), "id outside the vocabulary");
  absl::StatusOr<tg::examples::CharVocab> again =
      tg::examples::CharVocab::Deserialize(vocab.Serialize());
  Require(again.ok() && again->chars() == vocab.chars(), "a vocabulary does not round-trip");
  return 0;
}
