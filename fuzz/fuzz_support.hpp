#pragma once
// Shared by the libFuzzer targets: a failed property aborts (libFuzzer saves
// the input as a crash), and inputs that must live in a file get one file per
// process.

#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <span>
#include <string>

namespace tandem::fuzz {

/// Aborts with `what` when `ok` is false: a broken property is a crash to libFuzzer.
inline void require(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "fuzz property violated: %s\n", what);
    std::abort();
  }
}

/// A file of this process (removed at exit) that each input is written to,
/// for the loaders that only take a path. Never throws except on I/O failure.
class InputFile {
 public:
  explicit InputFile(const std::string& stem)
      : path_(std::filesystem::temp_directory_path() / (stem + "." + std::to_string(::getpid()))) {}
  ~InputFile() {
    std::error_code ec;
    std::filesystem::remove(path_, ec);
  }
  InputFile(const InputFile&) = delete;
  InputFile& operator=(const InputFile&) = delete;

  /// Replaces the file's contents with `data`; returns its path.
  const std::filesystem::path& write(std::span<const std::uint8_t> data) {
    std::ofstream out(path_, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(data.size()));
    out.close();
    require(static_cast<bool>(out), "writing the input file");
    return path_;
  }

 private:
  std::filesystem::path path_;
};

}  // namespace tandem::fuzz
