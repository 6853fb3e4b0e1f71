#include "examples/common/text_data.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace tg::examples {
namespace {

// Length of the UTF-8 sequence at text[i] and its code point; 0 when it is invalid.
int DecodeOne(absl::string_view text, size_t i, char32_t* cp) {
  const auto byte = [&](size_t k) { return static_cast<unsigned char>(text[k]); };
  const unsigned char lead = byte(i);
  int len;
  char32_t value, min;
  if (lead < 0x80) { *cp = lead; return 1; }
  if ((lead & 0xE0) == 0xC0) { len = 2; value = lead & 0x1F; min = 0x80; }
  else if ((lead & 0xF0) == 0xE0) { len = 3; value = lead & 0x0F; min = 0x800; }
  else if ((lead & 0xF8) == 0xF0) { len = 4; value = lead & 0x07; min = 0x10000; }
  else return 0;  // a continuation byte or 0xF8..0xFF where a character should start
  if (i + len > text.size()) return 0;
  for (int k = 1; k < len; ++k) {
    if ((byte(i + k) & 0xC0) != 0x80) return 0;
    value = (value << 6) | (byte(i + k) & 0x3F);
  }
  if (value < min || value > 0x10FFFF || (value >= 0xD800 && value <= 0xDFFF)) return 0;
  *cp = value;
  return len;
}

}  // namespace

absl::Status CheckUtf8(absl::string_view text, const std::string& name) {
  int64_t line = 1, column = 1;
  for (size_t i = 0; i < text.size();) {
    char32_t cp;
    const int len = DecodeOne(text, i, &cp);
    if (len == 0) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "'%s' is not valid UTF-8: byte 0x%02X at offset %d (line %d, column %d)", name,
          static_cast<unsigned char>(text[i]), i, line, column));
    }
    if (cp == '\n') { ++line; column = 1; } else { ++column; }
    i += len;
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> LoadUtf8Text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::NotFoundError(absl::StrCat("cannot read text file '", path, "': ", std::strerror(errno)));
  }
  std::ostringstream buffer;
  buffer << in.rdbuf();
  std::string text = std::move(buffer).str();
  if (text.empty()) return absl::InvalidArgumentError(absl::StrCat("text file '", path, "' is empty"));
  if (absl::Status s = CheckUtf8(text, path); !s.ok()) return s;
  return text;
}

std::vector<char32_t> DecodeUtf8(absl::string_view text) {
  std::vector<char32_t> out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    char32_t cp = 0xFFFD;
    const int len = DecodeOne(text, i, &cp);
    out.push_back(cp);
    i += len == 0 ? 1 : len;
  }
  return out;
}

std::string EncodeUtf8(char32_t cp) {
  std::string out;
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
  return out;
}

CharVocab CharVocab::FromText(absl::string_view utf8_text) {
  CharVocab vocab;
  vocab.chars_ = DecodeUtf8(utf8_text);
  std::sort(vocab.chars_.begin(), vocab.chars_.end());
  vocab.chars_.erase(std::unique(vocab.chars_.begin(), vocab.chars_.end()), vocab.chars_.end());
  return vocab;
}

std::string CharVocab::Serialize() const {
  std::string out;
  for (char32_t c : chars_) out += EncodeUtf8(c);
  return out;
}

absl::StatusOr<CharVocab> CharVocab::Deserialize(absl::string_view utf8_text) {
  if (absl::Status s = CheckUtf8(utf8_text, "vocabulary"); !s.ok()) return s;
  CharVocab vocab;
  vocab.chars_ = DecodeUtf8(utf8_text);
  if (!std::is_sorted(vocab.chars_.begin(), vocab.chars_.end()) ||
      std::adjacent_find(vocab.chars_.begin(), vocab.chars_.end()) != vocab.chars_.end()) {
    return absl::InvalidArgumentError("vocabulary: characters are not sorted and unique");
  }
  return vocab;
}

absl::StatusOr<std::vector<int32_t>> CharVocab::Encode(absl::string_view utf8_text) const {
  std::vector<char32_t> cps = DecodeUtf8(utf8_text);
  std::vector<int32_t> ids(cps.size());
  for (size_t i = 0; i < cps.size(); ++i) {
    auto it = std::lower_bound(chars_.begin(), chars_.end(), cps[i]);
    if (it == chars_.end() || *it != cps[i]) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "character U+%04X ('%s') at character %d is not in the vocabulary",
          static_cast<uint32_t>(cps[i]), EncodeUtf8(cps[i]), i));
    }
    ids[i] = static_cast<int32_t>(it - chars_.begin());
  }
  return ids;
}

}  // namespace tg::examples
