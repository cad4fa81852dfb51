#include "app/dataset.hpp"

#include <memory>
#include <stdexcept>

#include <fmt/format.h>
#include <zlib.h>

namespace tandem::app {
namespace {

constexpr std::uint32_t k_max_items = 1'000'000;
constexpr std::uint32_t k_max_side = 1024;
constexpr std::uint8_t k_idx_unsigned_byte = 0x08;

struct GzCloser {
  void operator()(gzFile_s* f) const { gzclose(f); }
};

// An IDX file of unsigned bytes: its dims and its data, checked against each other.
struct Idx {
  std::vector<std::uint32_t> dims;
  std::vector<std::uint8_t> data;
};

Idx read_idx(const std::filesystem::path& path, std::size_t rank) {
  const auto fail = [&](const std::string& why) {
    return std::runtime_error(fmt::format("{}: {}", path.string(), why));
  };
  if (!std::filesystem::exists(path)) {
    throw fail("no such file (install Debian's dataset-fashion-mnist, or point --dataset-dir at the IDX files)");
  }
  std::unique_ptr<gzFile_s, GzCloser> file(gzopen(path.c_str(), "rb"));
  if (!file) throw fail("cannot open it");
  const auto read = [&](void* into, unsigned bytes) {
    return gzread(file.get(), into, bytes) == static_cast<int>(bytes);
  };
  unsigned char header[4];
  if (!read(header, 4)) throw fail("too short for an IDX header (or not gzip)");
  if (header[0] != 0 || header[1] != 0 || header[2] != k_idx_unsigned_byte || header[3] != rank) {
    throw fail(fmt::format("not an IDX file of unsigned bytes and rank {}", rank));
  }
  Idx idx;
  std::uint64_t total = 1;
  for (std::size_t d = 0; d < rank; ++d) {
    unsigned char be[4];
    if (!read(be, 4)) throw fail("truncated IDX header");
    const std::uint32_t v = (std::uint32_t{be[0]} << 24) | (std::uint32_t{be[1]} << 16) | (std::uint32_t{be[2]} << 8) | be[3];
    if (v == 0 || v > (d == 0 ? k_max_items : k_max_side)) throw fail(fmt::format("dim {} is {}, out of bounds", d, v));
    idx.dims.push_back(v);
    total *= v;
  }
  idx.data.resize(total);
  std::uint64_t done = 0;
  while (done < total) {
    const auto chunk = static_cast<unsigned>(std::min<std::uint64_t>(total - done, 1u << 24));
    if (!read(idx.data.data() + done, chunk)) throw fail(fmt::format("holds fewer than the {} bytes its header announces", total));
    done += chunk;
  }
  unsigned char extra;
  if (gzread(file.get(), &extra, 1) != 0) throw fail(fmt::format("holds more than the {} bytes its header announces", total));
  return idx;
}

}  // namespace

DatasetRef parse_dataset(std::string_view text) {
  DatasetRef ref;
  const auto colon = text.find(':');
  const std::string_view name = text.substr(0, colon);
  if (name != "fashion-mnist") {
    throw std::invalid_argument(fmt::format("unknown data set '{}' (known: fashion-mnist)", std::string(name.substr(0, 64))));
  }
  if (colon != std::string_view::npos) {
    const std::string_view split = text.substr(colon + 1);
    if (split != "test" && split != "train") {
      throw std::invalid_argument(fmt::format("'{}': the split is test or train", std::string(text.substr(0, 64))));
    }
    ref.split = split;
  }
  return ref;
}

LabelledImages load_dataset(const DatasetRef& ref, const std::filesystem::path& dir) {
  const std::string prefix = ref.split == "train" ? "train" : "t10k";
  Idx images = read_idx(dir / (prefix + "-images-idx3-ubyte.gz"), 3);
  Idx labels = read_idx(dir / (prefix + "-labels-idx1-ubyte.gz"), 1);
  if (images.dims[0] != labels.dims[0]) {
    throw std::runtime_error(fmt::format("{}: {} images but {} labels", dir.string(), images.dims[0], labels.dims[0]));
  }
  LabelledImages out;
  out.rows = images.dims[1];
  out.cols = images.dims[2];
  out.pixels = std::move(images.data);
  out.labels = std::move(labels.data);
  return out;
}

}  // namespace tandem::app
