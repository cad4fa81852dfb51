#include "net/compress.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <limits>
#include <memory>

#include <fmt/format.h>
#include <zstd.h>

namespace tandem::net {
namespace {

constexpr int k_zstd_level = 1;  // the fast end: tensors are compressed on the send path
constexpr double k_int8_levels = 255.0;

static_assert(std::endian::native == std::endian::little, "int8 blocks store f32 offsets and scales little-endian");

void put_f32(std::byte* at, float v) { std::memcpy(at, &v, sizeof v); }
float get_f32(const std::byte* at) {
  float v;
  std::memcpy(&v, at, sizeof v);
  return v;
}

// Per-thread zstd contexts: one allocation per thread instead of per tensor.
struct CctxDeleter {
  void operator()(ZSTD_CCtx* c) const { ZSTD_freeCCtx(c); }
};
struct DctxDeleter {
  void operator()(ZSTD_DCtx* d) const { ZSTD_freeDCtx(d); }
};

// A tensor as outer × channels × inner elements, row-major (outer is the batch
// of a rank >= 3 tensor; 1 otherwise).
struct Layout {
  std::size_t outer = 0, channels = 1, inner = 0;
};

Layout layout_of(const Shape& shape, std::size_t numel) {
  Layout l;
  l.channels = static_cast<std::size_t>(int8_channels(shape));
  if (shape.size() < 3) {
    l.inner = numel;
    l.outer = numel == 0 ? 0 : 1;
    return l;
  }
  l.inner = 1;
  for (std::size_t d = 2; d < shape.size(); ++d) l.inner *= static_cast<std::size_t>(shape[d]);
  l.outer = l.inner == 0 ? 0 : numel / (l.channels * l.inner);
  return l;
}

// Calls f(channel, begin, end) for each run of one channel's elements.
template <typename F>
void for_each_run(const Layout& l, F f) {
  for (std::size_t o = 0; o < l.outer; ++o) {
    for (std::size_t c = 0; c < l.channels; ++c) {
      const std::size_t begin = (o * l.channels + c) * l.inner;
      f(c, begin, begin + l.inner);
    }
  }
}

}  // namespace

std::int64_t int8_channels(const Shape& shape) noexcept {
  if (shape.size() < 3 || shape[1] <= 0) return 1;
  return shape[1];
}

std::uint64_t int8_block_bytes(const Shape& shape, std::int64_t numel) noexcept {
  return 8 * static_cast<std::uint64_t>(int8_channels(shape)) + static_cast<std::uint64_t>(numel);
}

std::vector<std::byte> int8_encode(std::span<const float> values, const Shape& shape) {
  const std::size_t numel = values.size();
  const Layout l = layout_of(shape, numel);
  std::vector<float> low(l.channels, std::numeric_limits<float>::infinity());
  std::vector<float> high(l.channels, -std::numeric_limits<float>::infinity());
  for_each_run(l, [&](std::size_t c, std::size_t begin, std::size_t end) {
    float lo = low[c], hi = high[c];
    for (std::size_t i = begin; i < end; ++i) {
      const float x = values[i];
      if (!std::isfinite(x)) continue;
      lo = std::min(lo, x);
      hi = std::max(hi, x);
    }
    low[c] = lo;
    high[c] = hi;
  });
  std::vector<std::byte> block(8 * l.channels + numel);
  std::vector<double> inverse(l.channels, 0.0);
  for (std::size_t c = 0; c < l.channels; ++c) {
    if (low[c] > high[c]) low[c] = high[c] = 0;  // no finite value
    // In double: high - low of two finite floats can pass FLT_MAX.
    const double scale = (static_cast<double>(high[c]) - low[c]) / k_int8_levels;
    put_f32(block.data() + 4 * c, low[c]);
    put_f32(block.data() + 4 * (l.channels + c), static_cast<float>(scale));
    inverse[c] = scale > 0 ? 1.0 / scale : 0.0;
  }
  std::byte* q = block.data() + 8 * l.channels;
  for_each_run(l, [&](std::size_t c, std::size_t begin, std::size_t end) {
    const double offset = low[c], inv = inverse[c];
    for (std::size_t i = begin; i < end; ++i) {
      const float x = values[i];
      double level = 0;
      if (x == std::numeric_limits<float>::infinity()) {
        level = k_int8_levels;
      } else if (std::isfinite(x)) {
        level = std::clamp(std::nearbyint((static_cast<double>(x) - offset) * inv), 0.0, k_int8_levels);
      }
      q[i] = static_cast<std::byte>(static_cast<std::uint8_t>(level));
    }
  });
  return block;
}

std::optional<std::string> int8_decode(std::span<const std::byte> block, const Shape& shape, std::span<float> out) {
  const std::size_t numel = out.size();
  const Layout l = layout_of(shape, numel);
  if (block.size() != 8 * l.channels + numel) {
    return fmt::format("int8 block has {} bytes, {} channels and {} elements need {}", block.size(), l.channels,
                       numel, 8 * l.channels + numel);
  }
  std::vector<double> offset(l.channels), scale(l.channels);
  for (std::size_t c = 0; c < l.channels; ++c) {
    offset[c] = get_f32(block.data() + 4 * c);
    scale[c] = get_f32(block.data() + 4 * (l.channels + c));
    if (!std::isfinite(offset[c]) || !std::isfinite(scale[c]) || scale[c] < 0) {
      return fmt::format("int8 channel {}: offset {} and scale {} must be finite, the scale >= 0", c, offset[c],
                         scale[c]);
    }
  }
  const std::byte* q = block.data() + 8 * l.channels;
  constexpr double k_float_max = std::numeric_limits<float>::max();
  for_each_run(l, [&](std::size_t c, std::size_t begin, std::size_t end) {
    const double o = offset[c], s = scale[c];
    for (std::size_t i = begin; i < end; ++i) {
      const double x = o + s * static_cast<double>(std::to_integer<std::uint8_t>(q[i]));
      out[i] = static_cast<float>(std::clamp(x, -k_float_max, k_float_max));
    }
  });
  return std::nullopt;
}

std::uint64_t zstd_bound(std::uint64_t size) noexcept { return ZSTD_compressBound(static_cast<std::size_t>(size)); }

std::vector<std::byte> zstd_compress(std::span<const std::byte> bytes) {
  thread_local std::unique_ptr<ZSTD_CCtx, CctxDeleter> context(ZSTD_createCCtx());
  if (!context) throw std::bad_alloc();
  std::vector<std::byte> out(ZSTD_compressBound(bytes.size()));
  const std::size_t n =
      ZSTD_compressCCtx(context.get(), out.data(), out.size(), bytes.data(), bytes.size(), k_zstd_level);
  // Compressing into a buffer of compressBound bytes fails only when out of memory.
  if (ZSTD_isError(n)) throw std::bad_alloc();
  out.resize(n);
  return out;
}

std::optional<std::string> zstd_decompress(std::span<const std::byte> frame, std::span<std::byte> out) {
  const unsigned long long size = ZSTD_getFrameContentSize(frame.data(), frame.size());
  if (size == ZSTD_CONTENTSIZE_ERROR) return std::string("not a zstd frame");
  if (size == ZSTD_CONTENTSIZE_UNKNOWN || size != out.size()) {
    return fmt::format("zstd frame holds {} bytes, the shape needs {}",
                       size == ZSTD_CONTENTSIZE_UNKNOWN ? std::string("an unrecorded number of") : std::to_string(size),
                       out.size());
  }
  const std::size_t frame_size = ZSTD_findFrameCompressedSize(frame.data(), frame.size());
  if (ZSTD_isError(frame_size) || frame_size != frame.size()) {
    return std::string("the zstd data is not exactly one frame");
  }
  thread_local std::unique_ptr<ZSTD_DCtx, DctxDeleter> context(ZSTD_createDCtx());
  if (!context) throw std::bad_alloc();
  const std::size_t n = ZSTD_decompressDCtx(context.get(), out.data(), out.size(), frame.data(), frame.size());
  if (ZSTD_isError(n)) return fmt::format("zstd: {}", ZSTD_getErrorName(n));
  if (n != out.size()) return fmt::format("zstd frame decompressed to {} bytes, expected {}", n, out.size());
  return std::nullopt;
}

}  // namespace tandem::net
