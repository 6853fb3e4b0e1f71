// Loading text for the character model: the whole file, checked to be UTF-8, and a
// character vocabulary (one id per code point seen).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace tg::examples {

// The file's bytes. Errors name the path: a missing/unreadable file, an empty one, and
// invalid UTF-8 with its byte offset, line and column (a truncated multi-byte sequence, a
// stray continuation byte, an overlong form, a surrogate or a code point above U+10FFFF).
absl::StatusOr<std::string> LoadUtf8Text(const std::string& path);
// The same check on text already in memory; `name` is used in the message.
absl::Status CheckUtf8(absl::string_view text, const std::string& name);
// Code points of valid UTF-8 text.
std::vector<char32_t> DecodeUtf8(absl::string_view text);
std::string EncodeUtf8(char32_t code_point);

// Characters <-> ids, ids in increasing code point order (so a vocabulary rebuilt from the
// same text is the same one).
class CharVocab {
 public:
  static CharVocab FromText(absl::string_view utf8_text);
  // The vocabulary as UTF-8 text (its characters in id order), for saving beside a checkpoint.
  std::string Serialize() const;
  static absl::StatusOr<CharVocab> Deserialize(absl::string_view utf8_text);

  // Text -> ids; a character outside the vocabulary is an error naming it and its offset.
  absl::StatusOr<std::vector<int32_t>> Encode(absl::string_view utf8_text) const;
  std::string Decode(int32_t id) const { return EncodeUtf8(chars_[id]); }
  int64_t size() const { return static_cast<int64_t>(chars_.size()); }
  const std::vector<char32_t>& chars() const { return chars_; }

 private:
  std::vector<char32_t> chars_;  // sorted
};

}  // namespace tg::examples
