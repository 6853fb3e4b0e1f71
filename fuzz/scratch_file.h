// A scratch file for fuzz targets whose code under test reads a path: each input is written
// to the same per-process file, on tmpfs (/dev/shm) when there is one so that neither the
// writes nor a reader's fsync touch a disk.
#pragma once

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace tg::fuzz {

// The directory for scratch files: $TMPDIR if set, else /dev/shm, else /tmp.
inline std::string ScratchDir() {
  if (const char* dir = std::getenv("TMPDIR"); dir != nullptr && *dir != '\0') return dir;
  return access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
}

// "<dir>/tg_fuzz_<pid>_<name>": unique per process, so parallel fuzzers do not collide.
inline std::string ScratchPath(const std::string& name) {
  return ScratchDir() + "/tg_fuzz_" + std::to_string(getpid()) + "_" + name;
}

// Replaces the file at `path` with `size` bytes of `data`; aborts if that fails (the
// harness, not the code under test, is broken then).
inline void WriteScratch(const std::string& path, const uint8_t* data, size_t size) {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr || (size > 0 && std::fwrite(data, 1, size, f) != size) || std::fclose(f) != 0) {
    std::perror(path.c_str());
    std::abort();
  }
}

}  // namespace tg::fuzz
