#pragma once
// The lossy and lossless stages of the tensor codecs (net/tensor_codec.hpp):
// per-channel affine int8 quantisation of f32 tensors, and zstd. Torch-free,
// no allocation beyond the output, nothing here throws except bad_alloc.
//
// int8 block (little-endian), for a tensor of `channels` channels of
// `inner` consecutive elements each (row-major: channel c holds elements
// i with (i / inner) % channels == c):
//
//   f32 offset[channels]
//   f32 scale[channels]     finite, >= 0
//   u8  q[numel]            x ≈ offset[c] + scale[c] · q
//
// Encoding: offset = the channel's smallest finite value, scale = (largest -
// smallest) / 255, q = round((x - offset) / scale). Every finite x comes back
// within scale / 2 (plus float rounding); NaN and -inf come back as the
// channel's smallest value, +inf as its largest. A channel without finite
// values decodes to 0.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "models/graph.hpp"

namespace tandem::net {

/// Channels of a tensor of `shape` for int8: dim 1 of a rank >= 3 tensor
/// (NCHW feature maps), else 1 (the whole tensor); 1 for an empty dim 1.
std::int64_t int8_channels(const Shape& shape) noexcept;
/// Bytes of the int8 block of a tensor of `shape` with `numel` elements.
std::uint64_t int8_block_bytes(const Shape& shape, std::int64_t numel) noexcept;

/// Quantises `values` (f32, row-major, of `shape`) into an int8 block.
std::vector<std::byte> int8_encode(std::span<const float> values, const Shape& shape);
/// Dequantises an int8 block of `shape` (its size must be
/// int8_block_bytes(shape, out.size())) into `out`. Returns a reason when an
/// offset or scale is not finite or a scale is negative; nullopt on success.
std::optional<std::string> int8_decode(std::span<const std::byte> block, const Shape& shape, std::span<float> out);

/// zstd level 1 of `bytes` (one frame that records its content size).
std::vector<std::byte> zstd_compress(std::span<const std::byte> bytes);
/// Decompresses `frame`, which must be exactly one zstd frame whose recorded
/// content size is out.size(), into `out`. Returns a reason otherwise.
std::optional<std::string> zstd_decompress(std::span<const std::byte> frame, std::span<std::byte> out);
/// The most bytes zstd_compress() can return for `size` input bytes.
std::uint64_t zstd_bound(std::uint64_t size) noexcept;

}  // namespace tandem::net
