#include "models/safetensors.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <limits>
#include <set>

#include "fmt/format.h"
#include "base/status_macros.h"
#include "nlohmann/json.hpp"

namespace tg {
namespace {

// Tensor bytes go to and from disk unswapped.
static_assert(std::endian::native == std::endian::little, "safetensors data is little-endian");

using Json = nlohmann::json;
// Keeps insertion order, so the header lists tensors in data order.
using OrderedJson = nlohmann::ordered_json;

// The reference implementation refuses headers above 100 MB; so do we (a corrupt length
// must not make us allocate the whole file for JSON).
constexpr uint64_t kMaxHeaderBytes = 100'000'000;

const char* DTypeTag(DType t) {
  switch (t) {
    case DType::kF32: return "F32";
    case DType::kF64: return "F64";
    case DType::kI32: return "I32";
  }
  return "?";
}

bool DTypeFromTag(const std::string& tag, DType* out) {
  for (DType t : {DType::kF32, DType::kF64, DType::kI32}) {
    if (tag == DTypeTag(t)) {
      *out = t;
      return true;
    }
  }
  return false;
}

// Closes a file descriptor on every return path.
class FdCloser {
 public:
  explicit FdCloser(int fd) : fd_(fd) {}
  ~FdCloser() { ::close(fd_); }
  FdCloser(const FdCloser&) = delete;
  FdCloser& operator=(const FdCloser&) = delete;

 private:
  int fd_;
};

// "open('p') failed: No such file or directory" with a code from errno.
absl::Status SyscallError(int err, const std::string& prefix, const char* call,
                          const std::string& target) {
  return absl::ErrnoToStatus(err, fmt::format("{}: {}('{}') failed", prefix, call, target));
}

// pread until `n` bytes are in; a short file (it shrank under us) is DataLoss.
absl::Status ReadAt(int fd, uint64_t offset, void* dst, uint64_t n, const std::string& prefix,
                    const std::string& path) {
  auto* p = static_cast<char*>(dst);
  while (n > 0) {
    size_t chunk = static_cast<size_t>(std::min<uint64_t>(n, 1u << 30));
    ssize_t got = ::pread(fd, p, chunk, static_cast<off_t>(offset));
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) return SyscallError(errno, prefix, "pread", path);
    if (got == 0) {
      return absl::DataLossError(
          fmt::format("{}: unexpected end of file at byte offset {}", prefix, offset));
    }
    p += got;
    offset += static_cast<uint64_t>(got);
    n -= static_cast<uint64_t>(got);
  }
  return absl::OkStatus();
}

absl::Status WriteAll(int fd, const void* src, size_t n, const std::string& prefix,
                      const std::string& tmp) {
  const auto* p = static_cast<const char*>(src);
  while (n > 0) {
    ssize_t put = ::write(fd, p, std::min<size_t>(n, 1u << 30));
    if (put < 0 && errno == EINTR) continue;
    if (put < 0) return SyscallError(errno, prefix, "write", tmp);
    p += put;
    n -= static_cast<size_t>(put);
  }
  return absl::OkStatus();
}

// Collects only the position and text of a JSON syntax error: the DOM parse runs without
// exceptions and so reports none, and this second pass runs only on the error path.
class JsonErrorFinder : public nlohmann::json_sax<Json> {
 public:
  size_t position = 0;  // nlohmann's 1-based index of the last character read
  std::string message;

  bool null() override { return true; }
  bool boolean(bool) override { return true; }
  bool number_integer(number_integer_t) override { return true; }
  bool number_unsigned(number_unsigned_t) override { return true; }
  bool number_float(number_float_t, const string_t&) override { return true; }
  bool string(string_t&) override { return true; }
  bool binary(binary_t&) override { return true; }
  bool start_object(size_t) override { return true; }
  bool key(string_t&) override { return true; }
  bool end_object() override { return true; }
  bool start_array(size_t) override { return true; }
  bool end_array() override { return true; }
  bool parse_error(size_t pos, const std::string&, const Json::exception& ex) override {
    position = pos;
    // Drop nlohmann's "[json.exception...] parse error at line 1, column C: ": the column
    // counts from the header's start, which the caller turns into a file offset instead.
    message = ex.what();
    size_t colon = message.find(": ");
    if (colon != std::string::npos) message.erase(0, colon + 2);
    return false;
  }
};

// A JSON integer in [0, limit], or false.
bool GetIndex(const Json& v, uint64_t limit, uint64_t* out) {
  if (!v.is_number_integer()) return false;
  if (v.is_number_unsigned()) {
    *out = v.get<uint64_t>();
  } else {
    int64_t s = v.get<int64_t>();
    if (s < 0) return false;
    *out = static_cast<uint64_t>(s);
  }
  return *out <= limit;
}

struct Entry {
  uint64_t begin = 0, end = 0;
  NamedTensor tensor;
};

// Validates one header entry against a data section of `data_size` bytes. The error text is
// prefixed by the caller.
absl::Status ParseEntry(const Json& v, uint64_t data_size, Entry* e) {
  auto bad = [](std::string m) { return absl::DataLossError(std::move(m)); };
  if (!v.is_object()) return bad("is not a JSON object");
  auto dtype = v.find("dtype");
  if (dtype == v.end() || !dtype->is_string()) return bad("has no \"dtype\" string");
  if (!DTypeFromTag(dtype->get_ref<const std::string&>(), &e->tensor.dtype)) {
    return bad(fmt::format("has dtype {}, which tapegrad does not read (F32, F64, I32)",
                           dtype->dump()));
  }
  auto shape = v.find("shape");
  if (shape == v.end() || !shape->is_array()) return bad("has no \"shape\" array");
  if (shape->size() > static_cast<size_t>(Shape::kMaxRank)) {
    return bad(fmt::format("has shape {} of rank above {}", shape->dump(), Shape::kMaxRank));
  }
  // Elements, capped: anything above data_size elements cannot fit anyway.
  uint64_t elements = 1;
  bool too_big = false;
  for (const Json& d : *shape) {
    uint64_t dim = 0;
    if (!GetIndex(d, std::numeric_limits<int64_t>::max(), &dim)) {
      return bad(fmt::format("has shape {}: dimensions must be non-negative integers",
                             shape->dump()));
    }
    e->tensor.shape.push_back(static_cast<int64_t>(dim));
    if (dim == 0) {
      elements = 0;
    } else if (elements > data_size / dim) {
      too_big = true;
    } else {
      elements *= dim;
    }
  }
  if (elements == 0) too_big = false;
  auto offsets = v.find("data_offsets");
  if (offsets == v.end() || !offsets->is_array() || offsets->size() != 2 ||
      !GetIndex((*offsets)[0], data_size, &e->begin) ||
      !GetIndex((*offsets)[1], data_size, &e->end) || e->begin > e->end) {
    return bad(fmt::format(
        "has data_offsets {}; they must be [begin, end] with begin <= end <= {} (the size "
        "of the data section)",
        offsets == v.end() ? "missing" : offsets->dump(), data_size));
  }
  uint64_t want = elements * SizeOf(e->tensor.dtype);
  if (too_big || want != e->end - e->begin) {
    return bad(fmt::format("shape {} of {} needs {} bytes but data_offsets {} span {}",
                           shape->dump(), dtype->get_ref<const std::string&>(),
                           too_big ? fmt::format("more than {}", data_size) : std::to_string(want),
                           offsets->dump(), e->end - e->begin));
  }
  // An empty shape may still have axes whose product overflows ([2^62, 2^62, 0]).
  if (absl::Status s = e->tensor.shape.Validate(); !s.ok()) {
    return bad(fmt::format("has {}", s.message()));
  }
  return absl::OkStatus();
}

// JSON text must be UTF-8; dump() would throw on anything else, so check first: replacing
// and dropping bad bytes give the same text only when there are none.
bool IsValidUtf8(const std::string& s) {
  OrderedJson j = s;
  return j.dump(-1, ' ', false, OrderedJson::error_handler_t::replace) ==
         j.dump(-1, ' ', false, OrderedJson::error_handler_t::ignore);
}

}  // namespace

std::vector<double> NamedTensor::ToDoubles() const {
  std::vector<double> out(static_cast<size_t>(num_elements()));
  for (size_t i = 0; i < out.size(); ++i) {
    switch (dtype) {
      case DType::kF32: out[i] = values<float>()[i]; break;
      case DType::kF64: out[i] = values<double>()[i]; break;
      case DType::kI32: out[i] = values<int32_t>()[i]; break;
    }
  }
  return out;
}

const NamedTensor* SafetensorsFile::Find(const std::string& name) const {
  for (const NamedTensor& t : tensors) {
    if (t.name == name) return &t;
  }
  return nullptr;
}

namespace {

// ReadSafetensors, with the tensors' bytes left unread unless `read_data`.
absl::StatusOr<SafetensorsFile> Read(const std::string& path, const std::string& what,
                                     bool read_data) {
  const std::string prefix = fmt::format("{} '{}'", what, path);
  auto corrupt = [&](const std::string& m) {
    return absl::DataLossError(fmt::format("{}: {}", prefix, m));
  };
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return SyscallError(errno, prefix, "open", path);
  FdCloser closer(fd);
  struct stat st {};
  if (::fstat(fd, &st) != 0) return SyscallError(errno, prefix, "fstat", path);
  if (!S_ISREG(st.st_mode)) return corrupt("not a regular file");
  const uint64_t size = static_cast<uint64_t>(st.st_size);
  if (size < 8) {
    return corrupt(fmt::format("file is {} bytes, too short for the 8-byte header length", size));
  }
  uint64_t n = 0;  // little-endian on disk and (static_assert above) in memory
  TG_RETURN_IF_ERROR(ReadAt(fd, 0, &n, 8, prefix, path));
  if (n > size - 8) {
    return corrupt(fmt::format(
        "header length {} (bytes 0-7) is larger than the {} bytes after it (file size {})", n,
        size - 8, size));
  }
  if (n > kMaxHeaderBytes) {
    return corrupt(fmt::format("header length {} exceeds the limit of {} bytes", n,
                               kMaxHeaderBytes));
  }
  std::string text(static_cast<size_t>(n), '\0');
  TG_RETURN_IF_ERROR(ReadAt(fd, 8, text.data(), n, prefix, path));
  Json header = Json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (header.is_discarded()) {
    JsonErrorFinder finder;
    Json::sax_parse(text.begin(), text.end(), &finder);
    uint64_t at = 8 + (finder.position > 0 ? finder.position - 1 : 0);
    return corrupt(fmt::format("header JSON is invalid at byte offset {} of the file: {}",
                               std::min(at, 8 + n), finder.message));
  }
  if (!header.is_object()) return corrupt("header JSON (bytes 8 on) is not an object");

  const uint64_t data_start = 8 + n, data_size = size - data_start;
  SafetensorsFile file;
  std::vector<Entry> entries;
  for (const auto& [key, value] : header.items()) {
    if (key == "__metadata__") {
      if (!value.is_object()) return corrupt("\"__metadata__\" is not a JSON object");
      for (const auto& [k, v] : value.items()) {
        file.metadata[k] = v.is_string() ? v.get<std::string>()
                                         : v.dump(-1, ' ', false, Json::error_handler_t::replace);
      }
      continue;
    }
    Entry e;
    e.tensor.name = key;
    absl::Status s = ParseEntry(value, data_size, &e);
    if (!s.ok()) {
      return corrupt(fmt::format("tensor '{}' (header at bytes 8-{}) {}", key, 8 + n - 1,
                                 s.message()));
    }
    entries.push_back(std::move(e));
  }
  std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  const Entry* prev = nullptr;
  for (const Entry& e : entries) {
    if (e.begin == e.end) continue;  // an empty range overlaps nothing
    if (prev != nullptr && e.begin < prev->end) {
      return corrupt(fmt::format("tensors '{}' [{},{}] and '{}' [{},{}] overlap in the data "
                                 "section (which starts at file offset {})",
                                 prev->tensor.name, prev->begin, prev->end, e.tensor.name,
                                 e.begin, e.end, data_start));
    }
    prev = &e;
  }
  // Everything checks out: now read the data, one tensor at a time.
  for (Entry& e : entries) {
    if (read_data) {
      e.tensor.bytes.resize(static_cast<size_t>(e.end - e.begin));
      TG_RETURN_IF_ERROR(ReadAt(fd, data_start + e.begin, e.tensor.bytes.data(),
                                e.end - e.begin, prefix, path));
    }
    file.tensors.push_back(std::move(e.tensor));
  }
  return file;
}

}  // namespace

absl::StatusOr<SafetensorsFile> ReadSafetensors(const std::string& path, const std::string& what) {
  return Read(path, what, /*read_data=*/true);
}

absl::StatusOr<std::map<std::string, std::string>> ReadSafetensorsMetadata(
    const std::string& path, const std::string& what) {
  TG_ASSIGN_OR_RETURN(SafetensorsFile file, Read(path, what, /*read_data=*/false));
  return std::move(file.metadata);
}

absl::Status WriteSafetensors(const std::string& path, absl::Span<const NamedTensorView> tensors,
                              const std::map<std::string, std::string>& metadata) {
  const std::string prefix = fmt::format("cannot write '{}'", path);
  auto invalid = [&](const std::string& m) {
    return absl::InvalidArgumentError(fmt::format("{}: {}", prefix, m));
  };
  OrderedJson header = OrderedJson::object();
  if (!metadata.empty()) {
    OrderedJson& meta = header["__metadata__"] = OrderedJson::object();
    for (const auto& [k, v] : metadata) {
      if (!IsValidUtf8(k) || !IsValidUtf8(v)) return invalid("metadata is not valid UTF-8");
      meta[k] = v;
    }
  }
  std::set<std::string> seen;
  uint64_t offset = 0;
  for (const NamedTensorView& t : tensors) {
    if (t.name == "__metadata__" || !IsValidUtf8(t.name)) {
      return invalid(fmt::format("'{}' is not a valid tensor name", t.name));
    }
    if (!seen.insert(t.name).second) return invalid(fmt::format("duplicate name '{}'", t.name));
    if (!t.tensor.has_data()) return invalid(fmt::format("tensor '{}' has no data", t.name));
    OrderedJson entry = OrderedJson::object();
    entry["dtype"] = DTypeTag(t.tensor.dtype());
    entry["shape"] = OrderedJson::array();
    for (int64_t d : t.tensor.shape().dims()) entry["shape"].push_back(d);
    entry["data_offsets"] = OrderedJson::array({offset, offset + t.tensor.num_bytes()});
    offset += t.tensor.num_bytes();
    header[t.name] = std::move(entry);
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');  // pad as the reference implementation does
  const uint64_t n = text.size();

  // Write everything to a temp file of a name no other writer has (mkstemp) in the same
  // directory, so that the rename below is atomic and concurrent or killed writers never
  // share a half-written file; then rename it into place.
  const std::string pattern = path + ".tmp.XXXXXX";
  std::string tmp = pattern;
  int fd = ::mkostemp(tmp.data(), O_CLOEXEC);
  if (fd < 0) return SyscallError(errno, prefix, "mkstemp", pattern);
  absl::Status status = absl::OkStatus();
  // mkstemp creates 0600; a checkpoint is as readable as any other output file.
  if (::fchmod(fd, 0644) != 0) status = SyscallError(errno, prefix, "fchmod", tmp);
  if (status.ok()) status = WriteAll(fd, &n, 8, prefix, tmp);
  if (status.ok()) status = WriteAll(fd, text.data(), text.size(), prefix, tmp);
  for (const NamedTensorView& t : tensors) {
    if (status.ok()) status = WriteAll(fd, t.tensor.raw(), t.tensor.num_bytes(), prefix, tmp);
  }
  if (status.ok() && ::fsync(fd) != 0) status = SyscallError(errno, prefix, "fsync", tmp);
  if (::close(fd) != 0 && status.ok()) status = SyscallError(errno, prefix, "close", tmp);
  if (status.ok() && ::rename(tmp.c_str(), path.c_str()) != 0) {
    status = absl::ErrnoToStatus(
        errno, fmt::format("{}: rename('{}', '{}') failed", prefix, tmp, path));
  }
  if (!status.ok()) {
    ::unlink(tmp.c_str());
    return status;
  }
  // Make the rename itself durable.
  std::string dir = std::filesystem::path(path).parent_path().string();
  if (dir.empty()) dir = ".";
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) return SyscallError(errno, prefix, "open", dir);
  FdCloser dir_closer(dfd);
  if (::fsync(dfd) != 0) return SyscallError(errno, prefix, "fsync", dir);
  return absl::OkStatus();
}

}  // namespace tg
