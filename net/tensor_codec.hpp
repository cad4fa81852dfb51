#pragma once
// Torch-free wire tensors and their codecs.
//
// On the wire a tensor is (little-endian, inside a message payload):
//
//   i32  node_id      producer node of a crossing tensor, or the output node
//   u8   dtype        1 = f32, 2 = f16, 3 = i64, 4 = i32, 5 = u8, 6 = bool: the element
//                     type the receiver gets
//   u8   codec        0 = raw (little-endian elements), 1 = fp16 (f32 sent as IEEE half),
//                     2 = int8 (f32 as a per-channel affine int8 block, net/compress.hpp);
//                     +16 (16, 17, 18) = the same, then compressed as one zstd frame
//   u8   rank         0..k_max_rank
//   u8   reserved     0
//   i64  dims[rank]   each >= 0
//   u64  byte_length  bytes that follow on the wire; must equal numel × wire element size
//                     (int8: 8 × channels + numel); zstd codecs: the frame's size, at
//                     most zstd's bound for those bytes, which must be at most
//                     k_max_zstd_decoded_bytes
//   ...  zero padding to an 8-byte payload offset (so received data is aligned)
//   ...  bytes
//
// Encoding never copies raw tensor bytes (they are referenced by the frame's
// gather list); decoding raw tensors points into the received payload. A
// tensor zstd does not shrink travels without it (its codec byte says so).
// Decoded fp16 and int8 tensors are f32.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "models/graph.hpp"
#include "net/byte_io.hpp"
#include "net/errors.hpp"
#include "net/frame.hpp"

namespace tandem::net {

enum class Codec : std::uint8_t { raw = 0, fp16 = 1, int8 = 2, raw_zstd = 16, fp16_zstd = 17, int8_zstd = 18 };

inline constexpr std::size_t k_max_rank = 8;
inline constexpr std::int64_t k_max_numel = std::int64_t{1} << 40;
/// A zstd tensor decompresses to at most this many bytes (the largest raw
/// payload): compression never lets a peer make the receiver allocate more
/// than an uncompressed message could.
inline constexpr std::uint64_t k_max_zstd_decoded_bytes = k_default_max_payload;

/// raw, fp16 or int8: the codec without zstd. Never throws.
Codec precision_of(Codec codec) noexcept;
/// True for the +zstd codecs. Never throws.
bool uses_zstd(Codec codec) noexcept;
/// `codec` with zstd added (with = true) or removed. Never throws.
Codec with_zstd(Codec codec, bool with) noexcept;

/// A tensor as the wire layer sees it: metadata plus a view of contiguous, row-major bytes.
struct WireTensor {
  NodeId node_id = -1;
  DType dtype = DType::f32;   // element type of `data`
  Codec codec = Codec::raw;   // how it travels (encode) / travelled (decode)
  Shape shape;
  std::span<const std::byte> data;    // numel × element size bytes
  std::shared_ptr<const void> owner;  // keeps `data` alive; null when the caller guarantees it

  /// Product of the dims (1 for rank 0); never throws (callers validate shapes first).
  std::int64_t numel() const noexcept;
};

/// Bytes per element in memory (f32: 4, f16: 2, i64: 8, ...); never throws.
std::size_t element_size(DType dtype) noexcept;
/// Wire code of a dtype (f32: 1, f16: 2, i64: 3, i32: 4, u8: 5, bool: 6); never throws.
std::uint8_t dtype_wire_code(DType dtype) noexcept;

/// IEEE binary32 → binary16, round to nearest even; NaN stays NaN, overflow → ±inf. Never throws.
std::uint16_t float_to_half(float value) noexcept;
/// IEEE binary16 → binary32 (exact); never throws.
float half_to_float(std::uint16_t half) noexcept;

/// Makes a tensor owning a copy of `values` (f32). Throws only bad_alloc.
WireTensor make_f32_tensor(NodeId node_id, Shape shape, std::vector<float> values, Codec codec = Codec::raw);
/// The elements as floats (f32 copied, f16 widened); throws only bad_alloc.
std::vector<float> to_floats(const WireTensor& tensor);

/// Checks rank, dims, dtype/codec combination and that data size equals shape × dtype; nullopt when valid.
std::optional<Error> validate_tensor(const WireTensor& tensor);
/// Appends one tensor to a frame (raw bytes referenced, fp16 converted into storage the frame owns).
/// Returns an Error (invalid_tensor) instead when the tensor is inconsistent; throws only bad_alloc.
std::optional<Error> encode_tensor(OutgoingFrame& frame, const WireTensor& tensor);
/// Reads one tensor, validating every field before allocating anything; raw data points into
/// the payload `reader` reads, which `payload_owner` keeps alive (the tensor holds it). Never
/// throws except bad_alloc.
Expected<WireTensor> decode_tensor(ByteReader& reader, const std::shared_ptr<const void>& payload_owner);

}  // namespace tandem::net
