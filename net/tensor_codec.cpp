#include "net/tensor_codec.hpp"

#include <bit>
#include <cstring>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "net/compress.hpp"

namespace tandem::net {
namespace {

constexpr std::size_t k_data_alignment = 8;

// Wire codes of the element types, in DType order (a code is never reused).
struct WireType {
  DType dtype;
  std::uint8_t code;
  std::size_t size;
};
constexpr WireType k_wire_types[] = {{DType::f32, 1, 4}, {DType::f16, 2, 2}, {DType::i64, 3, 8},
                                     {DType::i32, 4, 4}, {DType::u8, 5, 1},  {DType::boolean, 6, 1}};

// Raw tensors travel as their in-memory bytes: the protocol is little-endian throughout.
static_assert(std::endian::native == std::endian::little, "tandem's raw codec assumes a little-endian host");

std::optional<DType> dtype_from_wire(std::uint8_t code) {
  for (const auto& t : k_wire_types) {
    if (t.code == code) return t.dtype;
  }
  return std::nullopt;
}

bool known_codec(std::uint8_t code) {
  for (Codec c : {Codec::raw, Codec::fp16, Codec::int8, Codec::raw_zstd, Codec::fp16_zstd, Codec::int8_zstd}) {
    if (static_cast<std::uint8_t>(c) == code) return true;
  }
  return false;
}

// Bytes the precision stage produces (before zstd): fp16 sends f32 tensors as
// halves, int8 as a quantised block.
std::uint64_t precision_bytes(DType dtype, Codec codec, const Shape& shape, std::int64_t numel) {
  switch (precision_of(codec)) {
    case Codec::fp16: return 2 * static_cast<std::uint64_t>(numel);
    case Codec::int8: return int8_block_bytes(shape, numel);
    default: return static_cast<std::uint64_t>(numel) * element_size(dtype);
  }
}

// Validates the metadata shared by encoder and decoder; returns numel through `numel_out`.
std::optional<Error> check_meta(NodeId node, DType dtype, Codec codec, const Shape& shape, std::int64_t* numel_out) {
  if (!known_codec(static_cast<std::uint8_t>(codec))) {
    return Error::make(Errc::invalid_tensor, fmt::format("tensor of node {}: unknown codec {}", node,
                                                         static_cast<unsigned>(codec)));
  }
  if (precision_of(codec) != Codec::raw && dtype != DType::f32) {
    return Error::make(Errc::invalid_tensor,
                       fmt::format("tensor of node {}: the {} codec applies to f32 only", node,
                                   precision_of(codec) == Codec::fp16 ? "fp16" : "int8"));
  }
  if (shape.size() > k_max_rank) {
    return Error::make(Errc::invalid_tensor,
                       fmt::format("tensor of node {}: rank {} exceeds {}", node, shape.size(), k_max_rank));
  }
  std::int64_t numel = 1;
  for (std::size_t i = 0; i < shape.size(); ++i) {
    const std::int64_t d = shape[i];
    if (d < 0 || d > k_max_numel) {
      return Error::make(Errc::invalid_tensor, fmt::format("tensor of node {}: dim {} is {}", node, i, d));
    }
    if (d != 0 && numel > k_max_numel / d) {
      return Error::make(Errc::invalid_tensor, fmt::format("tensor of node {}: more than {} elements", node, k_max_numel));
    }
    numel *= d;
  }
  *numel_out = numel;
  return std::nullopt;
}

// The fp16 stage: f32 values to little-endian halves.
std::vector<std::byte> to_halves(std::span<const std::byte> f32_bytes) {
  const std::size_t count = f32_bytes.size() / 4;
  std::vector<std::byte> halves(2 * count);
  for (std::size_t i = 0; i < count; ++i) {
    float v;
    std::memcpy(&v, f32_bytes.data() + 4 * i, 4);
    const std::uint16_t h = float_to_half(v);
    halves[2 * i] = static_cast<std::byte>(h & 0xFFu);
    halves[2 * i + 1] = static_cast<std::byte>(h >> 8);
  }
  return halves;
}

}  // namespace

Codec precision_of(Codec codec) noexcept {
  return static_cast<Codec>(static_cast<std::uint8_t>(codec) & ~static_cast<std::uint8_t>(Codec::raw_zstd));
}

bool uses_zstd(Codec codec) noexcept {
  return (static_cast<std::uint8_t>(codec) & static_cast<std::uint8_t>(Codec::raw_zstd)) != 0;
}

Codec with_zstd(Codec codec, bool with) noexcept {
  const auto base = static_cast<std::uint8_t>(precision_of(codec));
  return static_cast<Codec>(with ? base | static_cast<std::uint8_t>(Codec::raw_zstd) : base);
}

std::int64_t WireTensor::numel() const noexcept {
  std::int64_t n = 1;
  for (std::int64_t d : shape) n *= d;
  return n;
}

std::size_t element_size(DType dtype) noexcept {
  for (const auto& t : k_wire_types) {
    if (t.dtype == dtype) return t.size;
  }
  return 4;
}

std::uint8_t dtype_wire_code(DType dtype) noexcept {
  for (const auto& t : k_wire_types) {
    if (t.dtype == dtype) return t.code;
  }
  return 0;
}

std::uint16_t float_to_half(float value) noexcept {
  const std::uint32_t x = std::bit_cast<std::uint32_t>(value);
  const auto sign = static_cast<std::uint16_t>((x >> 16) & 0x8000u);
  const std::uint32_t abs = x & 0x7FFFFFFFu;
  if (abs >= 0x7F800000u) {  // inf or NaN; keep NaN payload bits, force quiet
    const std::uint32_t nan_bits = abs > 0x7F800000u ? (0x200u | ((abs >> 13) & 0x3FFu)) : 0u;
    return static_cast<std::uint16_t>(sign | 0x7C00u | nan_bits);
  }
  if (abs >= 0x477FF000u) return static_cast<std::uint16_t>(sign | 0x7C00u);  // rounds past 65504
  if (abs < 0x38800000u) {
    // Below 2^-14 the result is subnormal: adding 0.5f puts the half's ulp
    // (2^-24) at the float's last bit, so the FPU rounds to nearest even for us.
    const float shifted = std::bit_cast<float>(abs) + 0.5f;
    return static_cast<std::uint16_t>(sign | (std::bit_cast<std::uint32_t>(shifted) - 0x3F000000u));
  }
  // Normal: rebias the exponent (127 → 15) and round the 13 dropped bits to nearest even.
  const std::uint32_t odd = (abs >> 13) & 1u;
  const std::uint32_t rounded = abs + 0xC8000FFFu + odd;
  return static_cast<std::uint16_t>(sign | (rounded >> 13));
}

float half_to_float(std::uint16_t half) noexcept {
  const std::uint32_t sign = static_cast<std::uint32_t>(half & 0x8000u) << 16;
  const std::uint32_t exponent = (half >> 10) & 0x1Fu;
  const std::uint32_t mantissa = half & 0x3FFu;
  if (exponent == 0x1Fu) return std::bit_cast<float>(sign | 0x7F800000u | (mantissa << 13));
  if (exponent == 0) {
    const float magnitude = static_cast<float>(mantissa) * 0x1p-24f;
    return sign ? -magnitude : magnitude;
  }
  return std::bit_cast<float>(sign | ((exponent + 112u) << 23) | (mantissa << 13));
}

WireTensor make_f32_tensor(NodeId node_id, Shape shape, std::vector<float> values, Codec codec) {
  auto storage = std::make_shared<std::vector<float>>(std::move(values));
  WireTensor t;
  t.node_id = node_id;
  t.dtype = DType::f32;
  t.codec = codec;
  t.shape = std::move(shape);
  t.data = std::as_bytes(std::span<const float>(*storage));
  t.owner = std::move(storage);
  return t;
}

std::vector<float> to_floats(const WireTensor& tensor) {
  std::vector<float> out;
  if (tensor.dtype == DType::f32) {
    out.resize(tensor.data.size() / 4);
    if (!out.empty()) std::memcpy(out.data(), tensor.data.data(), out.size() * 4);  // null with no elements
  } else {
    out.resize(tensor.data.size() / 2);
    for (std::size_t i = 0; i < out.size(); ++i) {
      const auto lo = static_cast<std::uint16_t>(tensor.data[2 * i]);
      const auto hi = static_cast<std::uint16_t>(tensor.data[2 * i + 1]);
      out[i] = half_to_float(static_cast<std::uint16_t>(lo | (hi << 8)));
    }
  }
  return out;
}

std::optional<Error> validate_tensor(const WireTensor& t) {
  std::int64_t numel = 0;
  if (auto e = check_meta(t.node_id, t.dtype, t.codec, t.shape, &numel)) return e;
  const auto expected = static_cast<std::uint64_t>(numel) * element_size(t.dtype);
  if (t.data.size() != expected) {
    return Error::make(Errc::invalid_tensor,
                       fmt::format("tensor of node {}: shape {} × {} bytes needs {} bytes, data has {}", t.node_id,
                                   fmt::join(t.shape, "x"), element_size(t.dtype), expected, t.data.size()));
  }
  return std::nullopt;
}

std::optional<Error> encode_tensor(OutgoingFrame& frame, const WireTensor& t) {
  if (auto e = validate_tensor(t)) return e;
  // The precision stage: raw bytes are referenced, fp16 and int8 are new
  // storage the frame owns.
  std::span<const std::byte> bytes = t.data;
  std::shared_ptr<const void> owner = t.owner;
  auto own = [&](std::vector<std::byte> converted) {
    auto held = std::make_shared<std::vector<std::byte>>(std::move(converted));
    bytes = std::span<const std::byte>(*held);
    owner = std::move(held);
  };
  if (precision_of(t.codec) == Codec::fp16) own(to_halves(t.data));
  if (precision_of(t.codec) == Codec::int8) {
    own(int8_encode(std::span(reinterpret_cast<const float*>(t.data.data()), t.data.size() / 4), t.shape));
  }
  Codec codec = t.codec;
  if (uses_zstd(codec)) {
    std::vector<std::byte> compressed = bytes.size() <= k_max_zstd_decoded_bytes ? zstd_compress(bytes)
                                                                                  : std::vector<std::byte>{};
    if (!compressed.empty() && compressed.size() < bytes.size()) {
      own(std::move(compressed));
    } else {
      codec = with_zstd(codec, false);  // zstd would not shrink it
    }
  }
  {
    ByteWriter w(frame.inline_bytes());
    w.i32(t.node_id);
    w.u8(dtype_wire_code(t.dtype));
    w.u8(static_cast<std::uint8_t>(codec));
    w.u8(static_cast<std::uint8_t>(t.shape.size()));
    w.u8(0);
    for (std::int64_t d : t.shape) w.i64(d);
    w.u64(bytes.size());
  }
  frame.pad_payload_to(k_data_alignment);
  frame.append_external(bytes, std::move(owner));
  return std::nullopt;
}

Expected<WireTensor> decode_tensor(ByteReader& r, const std::shared_ptr<const void>& payload_owner) {
  auto malformed = [](std::string what) { return Error::make(Errc::invalid_tensor, std::move(what)); };
  std::int32_t node = 0;
  std::uint8_t dtype_code = 0, codec_code = 0, rank = 0, reserved = 0;
  if (!r.i32(node) || !r.u8(dtype_code) || !r.u8(codec_code) || !r.u8(rank) || !r.u8(reserved)) {
    return malformed("tensor header truncated");
  }
  const auto dtype = dtype_from_wire(dtype_code);
  if (!dtype) return malformed(fmt::format("tensor of node {}: unknown dtype code {}", node, dtype_code));
  if (!known_codec(codec_code)) return malformed(fmt::format("tensor of node {}: unknown codec {}", node, codec_code));
  if (reserved != 0) return malformed(fmt::format("tensor of node {}: reserved byte is {}", node, reserved));
  if (rank > k_max_rank) return malformed(fmt::format("tensor of node {}: rank {} exceeds {}", node, rank, k_max_rank));
  WireTensor t;
  t.node_id = node;
  t.dtype = *dtype;
  t.codec = static_cast<Codec>(codec_code);
  t.shape.resize(rank);  // rank <= 8: bounded
  for (std::size_t i = 0; i < rank; ++i) {
    if (!r.i64(t.shape[i])) return malformed(fmt::format("tensor of node {}: shape truncated", node));
  }
  std::int64_t numel = 0;
  if (auto e = check_meta(t.node_id, t.dtype, t.codec, t.shape, &numel)) return std::move(*e);
  std::uint64_t byte_length = 0;
  if (!r.u64(byte_length)) return malformed(fmt::format("tensor of node {}: byte length truncated", node));
  const std::uint64_t expected = precision_bytes(t.dtype, t.codec, t.shape, numel);
  if (uses_zstd(t.codec)) {
    if (expected > k_max_zstd_decoded_bytes) {
      return malformed(fmt::format("tensor of node {}: shape {} needs {} bytes, more than a zstd tensor may hold ({})",
                                   node, fmt::join(t.shape, "x"), expected, k_max_zstd_decoded_bytes));
    }
    if (byte_length == 0 || byte_length > zstd_bound(expected)) {
      return malformed(fmt::format("tensor of node {}: a zstd frame of {} bytes cannot hold shape {} ({} bytes)", node,
                                   byte_length, fmt::join(t.shape, "x"), expected));
    }
  } else if (byte_length != expected) {
    return malformed(fmt::format("tensor of node {}: shape {} needs {} bytes, byte length says {}", node,
                                 fmt::join(t.shape, "x"), expected, byte_length));
  }
  if (!r.skip_pad(k_data_alignment)) return malformed(fmt::format("tensor of node {}: bad padding", node));
  std::span<const std::byte> bytes;
  if (byte_length > r.remaining() || !r.view(static_cast<std::size_t>(byte_length), bytes)) {
    return malformed(fmt::format("tensor of node {}: {} bytes announced, payload has {} left", node, byte_length,
                                 r.remaining()));
  }
  std::shared_ptr<const void> owner = payload_owner;
  if (uses_zstd(t.codec)) {
    auto inflated = std::make_shared<std::vector<std::byte>>(static_cast<std::size_t>(expected));
    if (auto why = zstd_decompress(bytes, *inflated)) return malformed(fmt::format("tensor of node {}: {}", node, *why));
    bytes = std::span<const std::byte>(*inflated);
    owner = std::move(inflated);
  }
  switch (precision_of(t.codec)) {
    case Codec::fp16: {
      auto floats = std::make_shared<std::vector<float>>(static_cast<std::size_t>(numel));
      for (std::size_t i = 0; i < floats->size(); ++i) {
        const auto lo = static_cast<std::uint16_t>(bytes[2 * i]);
        const auto hi = static_cast<std::uint16_t>(bytes[2 * i + 1]);
        (*floats)[i] = half_to_float(static_cast<std::uint16_t>(lo | (hi << 8)));
      }
      t.data = std::as_bytes(std::span<const float>(*floats));
      t.owner = std::move(floats);
      return t;
    }
    case Codec::int8: {
      auto floats = std::make_shared<std::vector<float>>(static_cast<std::size_t>(numel));
      if (auto why = int8_decode(bytes, t.shape, *floats)) return malformed(fmt::format("tensor of node {}: {}", node, *why));
      t.data = std::as_bytes(std::span<const float>(*floats));
      t.owner = std::move(floats);
      return t;
    }
    default:
      t.data = bytes;
      t.owner = std::move(owner);
      return t;
  }
}

}  // namespace tandem::net
