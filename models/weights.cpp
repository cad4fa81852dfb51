// Weights: deterministic seeded initialisation, fingerprint, file format.

#include <bit>
#include <cmath>
#include <cstring>
#include <fstream>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "models/weights.hpp"
#include "models/model.hpp"

namespace tandem {
namespace {

static_assert(std::endian::native == std::endian::little,
              "weights files and fingerprints assume a little-endian host");

// SplitMix64: a counter-based generator, so element i of a tensor depends only
// on (seed, tensor name, i) — the same on every machine and thread count.
constexpr std::uint64_t mix64(std::uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}
constexpr std::uint64_t k_golden = 0x9e3779b97f4a7c15ULL;

constexpr std::uint64_t k_fnv_offset = 0xcbf29ce484222325ULL;
constexpr std::uint64_t k_fnv_prime = 0x100000001b3ULL;

// FNV-1a over 64-bit words (tail bytes zero-padded). Each step is a bijection
// of the state, so changing any one word always changes the result.
std::uint64_t hash_bytes(std::uint64_t h, const void* data, std::size_t size) {
  const auto* p = static_cast<const unsigned char*>(data);
  std::size_t i = 0;
  for (; i + 8 <= size; i += 8) {
    std::uint64_t w;
    std::memcpy(&w, p + i, 8);
    h = (h ^ w) * k_fnv_prime;
  }
  if (i < size) {
    std::uint64_t w = 0;
    std::memcpy(&w, p + i, size - i);
    h = (h ^ w) * k_fnv_prime;
  }
  return (h ^ size) * k_fnv_prime;
}

std::uint64_t hash_string(std::uint64_t h, const std::string& s) {
  return hash_bytes(h, s.data(), s.size());
}

// Weights file layout (little-endian):
//   char[8]  magic "TNDMWGT1"
//   u32      name length, then the model name
//   u64      fingerprint of all tensors (fingerprint_params)
//   u32      tensor count
//   per tensor: u32 name length, name, u8 dtype (0 = f32), u8 rank,
//               i64 dims[rank], u64 byte length, bytes
constexpr char k_magic[8] = {'T', 'N', 'D', 'M', 'W', 'G', 'T', '1'};
constexpr std::uint32_t k_max_name = 4096;
constexpr std::uint8_t k_max_rank = 8;

template <typename T>
void put(std::ofstream& out, T value) {
  out.write(reinterpret_cast<const char*>(&value), sizeof(T));
}

template <typename T>
T get(std::ifstream& in, const std::filesystem::path& path) {
  T value{};
  if (!in.read(reinterpret_cast<char*>(&value), sizeof(T))) {
    throw std::runtime_error(fmt::format("weights file {} is truncated", path.string()));
  }
  return value;
}

std::string get_string(std::ifstream& in, const std::filesystem::path& path) {
  const auto len = get<std::uint32_t>(in, path);
  if (len > k_max_name) {
    throw std::runtime_error(fmt::format("weights file {} is corrupt (name length {})",
                                         path.string(), len));
  }
  std::string s(len, '\0');
  if (!in.read(s.data(), len)) {
    throw std::runtime_error(fmt::format("weights file {} is truncated", path.string()));
  }
  return s;
}

}  // namespace

std::uint64_t fingerprint_params(const std::vector<Param>& params) {
  std::uint64_t h = k_fnv_offset;
  for (const Param& p : params) {
    h = hash_string(h, p.name);
    const at::Tensor t = p.value.contiguous();
    for (std::int64_t d : t.sizes()) h = (h ^ static_cast<std::uint64_t>(d)) * k_fnv_prime;
    h = hash_bytes(h, t.data_ptr(), t.numel() * t.element_size());
  }
  return h;
}

std::uint64_t fingerprint_graph(const GraphDesc& graph, std::uint64_t h) {
  const std::string text = to_json(graph).dump();
  return hash_bytes(h, text.data(), text.size());
}

std::uint64_t fingerprint_bytes(std::uint64_t h, const void* data, std::size_t size) {
  return hash_bytes(h, data, size);
}

namespace detail {

at::Tensor init_param(const ParamSpec& spec, const std::string& full_name, std::uint64_t seed) {
  double lo = 0, hi = 0;
  switch (spec.init) {
    case Init::he_uniform:
      hi = std::sqrt(6.0 / spec.fan_in);
      lo = -hi;
      break;
    case Init::fan_uniform:
      hi = 1.0 / std::sqrt(spec.fan_in);
      lo = -hi;
      break;
    case Init::bn_scale:
    case Init::bn_var:
      lo = 0.5;
      hi = 1.5;
      break;
    case Init::bn_shift:
      lo = -0.1;
      hi = 0.1;
      break;
  }
  at::Tensor t = at::empty(spec.shape, at::kFloat);
  float* data = t.data_ptr<float>();
  const std::uint64_t key = mix64(hash_string(k_fnv_offset, full_name) ^ mix64(seed));
  constexpr double k_inv_2_53 = 1.0 / 9007199254740992.0;
  at::parallel_for(0, t.numel(), 1 << 16, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t i = begin; i < end; ++i) {
      const std::uint64_t r = mix64(key + static_cast<std::uint64_t>(i) * k_golden);
      const double u = static_cast<double>(r >> 11) * k_inv_2_53;
      data[i] = static_cast<float>(lo + (hi - lo) * u);
    }
  });
  return t;
}

WeightsFile read_weights_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw std::runtime_error(fmt::format("cannot open weights file {}: {}", path.string(),
                                         std::strerror(errno)));
  }
  char magic[8];
  if (!in.read(magic, 8) || std::memcmp(magic, k_magic, 8) != 0) {
    throw std::runtime_error(
        fmt::format("{} is not a tandem weights file (bad magic)", path.string()));
  }
  WeightsFile file;
  file.model = get_string(in, path);
  file.fingerprint = get<std::uint64_t>(in, path);
  const auto count = get<std::uint32_t>(in, path);
  std::vector<Param> params;
  for (std::uint32_t i = 0; i < count; ++i) {
    std::string name = get_string(in, path);
    const auto dtype = get<std::uint8_t>(in, path);
    const auto rank = get<std::uint8_t>(in, path);
    if (dtype != 0 || rank > k_max_rank) {
      throw std::runtime_error(fmt::format("weights file {}: tensor '{}' has dtype {} rank {}",
                                           path.string(), name, dtype, rank));
    }
    Shape shape(rank);
    std::int64_t numel = 1;
    for (auto& d : shape) {
      d = get<std::int64_t>(in, path);
      if (d < 0 || d > (1LL << 31)) {
        throw std::runtime_error(fmt::format("weights file {}: tensor '{}' has dimension {}",
                                             path.string(), name, d));
      }
      numel *= d;
    }
    const auto nbytes = get<std::uint64_t>(in, path);
    if (nbytes != static_cast<std::uint64_t>(numel) * sizeof(float)) {
      throw std::runtime_error(fmt::format(
          "weights file {}: tensor '{}' holds {} bytes but its shape {} needs {}", path.string(),
          name, nbytes, shape_string(shape), numel * 4));
    }
    at::Tensor t = at::empty(shape, at::kFloat);
    if (!in.read(static_cast<char*>(t.data_ptr()), static_cast<std::streamsize>(nbytes))) {
      throw std::runtime_error(fmt::format("weights file {} is truncated", path.string()));
    }
    params.push_back({0, name, t});
    file.tensors.emplace_back(std::move(name), std::move(t));
  }
  if (fingerprint_params(params) != file.fingerprint) {
    throw std::runtime_error(fmt::format(
        "weights file {} is corrupt: its contents do not match its fingerprint", path.string()));
  }
  return file;
}

}  // namespace detail

namespace {

constexpr char k_tensor_magic[8] = {'T', 'N', 'D', 'M', 'T', 'N', 'S', '1'};
constexpr char k_tensors_magic[8] = {'T', 'N', 'D', 'M', 'T', 'N', 'S', '2'};
constexpr std::int64_t k_max_tensor_elems = std::int64_t{1} << 32;
constexpr std::uint8_t k_max_file_tensors = 64;

void write_tensor_body(std::ofstream& out, const at::Tensor& tensor) {
  const at::Tensor t = tensor.to(at::kFloat).contiguous();
  put<std::uint8_t>(out, static_cast<std::uint8_t>(t.dim()));
  for (std::int64_t d : t.sizes()) put<std::int64_t>(out, d);
  out.write(static_cast<const char*>(t.data_ptr()), static_cast<std::streamsize>(t.nbytes()));
}

void write_tensor_file(const std::filesystem::path& path, const std::vector<at::Tensor>& tensors, bool several) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) {
    throw std::runtime_error(fmt::format("cannot write tensor file {}: {}", path.string(), std::strerror(errno)));
  }
  if (several) {
    if (tensors.size() > k_max_file_tensors) {
      throw std::runtime_error(fmt::format("tensor file {}: at most {} tensors", path.string(), k_max_file_tensors));
    }
    out.write(k_tensors_magic, 8);
    put<std::uint8_t>(out, static_cast<std::uint8_t>(tensors.size()));
  } else {
    out.write(k_tensor_magic, 8);
  }
  for (const auto& t : tensors) write_tensor_body(out, t);
  if (!out.flush()) throw std::runtime_error(fmt::format("writing {} failed", path.string()));
}

}  // namespace

void save_tensor(const std::filesystem::path& path, const at::Tensor& tensor) {
  write_tensor_file(path, {tensor}, false);
}

void save_tensors(const std::filesystem::path& path, const std::vector<at::Tensor>& tensors) {
  write_tensor_file(path, tensors, true);
}

std::vector<at::Tensor> load_tensors(const std::filesystem::path& path, const std::vector<Shape>* expected) {
  const auto fail = [&](const std::string& why) {
    return std::runtime_error(fmt::format("tensor file {}: {}", path.string(), why));
  };
  const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) throw fail(std::strerror(errno));
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0) throw fail(std::strerror(errno));
  if (!S_ISREG(st.st_mode)) throw fail("not a regular file");
  // Reads exactly `size` bytes; a regular file never blocks.
  const auto read_exact = [&](void* data, std::size_t size) {
    auto* p = static_cast<char*>(data);
    while (size > 0) {
      const ssize_t n = ::read(fd, p, size);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) throw fail("truncated");
      p += n;
      size -= static_cast<std::size_t>(n);
    }
  };
  char magic[8];
  read_exact(magic, sizeof magic);
  std::uint8_t count = 1;
  std::int64_t header = 8;
  const bool several = std::memcmp(magic, k_tensors_magic, 8) == 0;
  if (several) {
    read_exact(&count, 1);
    header += 1;
    if (count == 0 || count > k_max_file_tensors) throw fail(fmt::format("holds {} tensors", count));
  } else if (std::memcmp(magic, k_tensor_magic, 8) != 0) {
    throw fail("not a tandem tensor file (bad magic)");
  }
  if (expected && expected->size() != count) {
    throw fail(fmt::format("holds {} tensor(s), the model takes {}", count, expected->size()));
  }
  // Headers first, all of them: nothing is allocated before the file's size
  // agrees with what they announce.
  std::vector<Shape> shapes(count);
  std::int64_t body = 0;
  for (std::size_t i = 0; i < count; ++i) {
    std::uint8_t rank = 0;
    read_exact(&rank, 1);
    if (rank > k_max_rank) throw fail(fmt::format("rank {} is over {}", rank, k_max_rank));
    Shape& shape = shapes[i];
    shape.resize(rank);
    std::int64_t numel = 1;
    for (auto& d : shape) {
      read_exact(&d, sizeof d);
      // Checked before multiplying: two dimensions near 2^32 overflow 64 bits.
      if (d < 0 || d > k_max_tensor_elems || (d != 0 && numel > k_max_tensor_elems / d)) {
        throw fail(fmt::format("corrupt header (dimension {})", d));
      }
      numel *= d;
    }
    if (expected && shape != (*expected)[i]) {
      throw fail(fmt::format("tensor {} is {}, the model takes {}", i, shape_string(shape),
                             shape_string((*expected)[i])));
    }
    header += 1 + 8 * static_cast<std::int64_t>(rank);
    body += numel * static_cast<std::int64_t>(sizeof(float));
    if (i + 1 < count) {
      // The next header follows this tensor's data: skip it for now.
      if (::lseek(fd, numel * static_cast<off_t>(sizeof(float)), SEEK_CUR) < 0) throw fail(std::strerror(errno));
    }
  }
  if (st.st_size != header + body) {
    throw fail(fmt::format("is {} bytes; its header says {}", st.st_size, header + body));
  }
  // Now read the bodies, in order.
  std::vector<at::Tensor> out;
  off_t at_offset = several ? 9 : 8;
  for (std::size_t i = 0; i < count; ++i) {
    at_offset += 1 + 8 * static_cast<off_t>(shapes[i].size());
    if (::lseek(fd, at_offset, SEEK_SET) < 0) throw fail(std::strerror(errno));
    at::Tensor t = at::empty(shapes[i], at::kFloat);
    read_exact(t.data_ptr(), t.nbytes());
    at_offset += static_cast<off_t>(t.nbytes());
    out.push_back(std::move(t));
  }
  return out;
}

at::Tensor load_tensor(const std::filesystem::path& path, const Shape* expected) {
  const std::vector<Shape> one = expected ? std::vector<Shape>{*expected} : std::vector<Shape>{};
  auto tensors = load_tensors(path, expected ? &one : nullptr);
  if (tensors.size() != 1) {
    throw std::runtime_error(fmt::format("tensor file {}: holds {} tensors, expected one", path.string(),
                                         tensors.size()));
  }
  return std::move(tensors.front());
}

void Model::save_weights(const std::filesystem::path& path) const {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) {
    throw std::runtime_error(fmt::format("cannot write weights file {}: {}", path.string(),
                                         std::strerror(errno)));
  }
  out.write(k_magic, 8);
  put<std::uint32_t>(out, static_cast<std::uint32_t>(name().size()));
  out.write(name().data(), static_cast<std::streamsize>(name().size()));
  put<std::uint64_t>(out, fingerprint_);
  put<std::uint32_t>(out, static_cast<std::uint32_t>(params_.size()));
  for (const Param& p : params_) {
    put<std::uint32_t>(out, static_cast<std::uint32_t>(p.name.size()));
    out.write(p.name.data(), static_cast<std::streamsize>(p.name.size()));
    put<std::uint8_t>(out, 0);
    put<std::uint8_t>(out, static_cast<std::uint8_t>(p.value.dim()));
    for (std::int64_t d : p.value.sizes()) put<std::int64_t>(out, d);
    const at::Tensor t = p.value.contiguous();
    const auto nbytes = static_cast<std::uint64_t>(t.numel()) * sizeof(float);
    put<std::uint64_t>(out, nbytes);
    out.write(static_cast<const char*>(t.data_ptr()), static_cast<std::streamsize>(nbytes));
  }
  if (!out.flush()) {
    throw std::runtime_error(fmt::format("writing weights file {} failed", path.string()));
  }
}

}  // namespace tandem
