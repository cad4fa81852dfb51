// The int8 and zstd codecs: round trips with bounded error (int8) or exact
// (zstd), through the tensor codec as a peer sees them, and the decoder's
// refusals of what an encoder never writes.
#include "net/compress.hpp"

#include <bit>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>

#include <gtest/gtest.h>
#include <zstd.h>

#include "net/byte_io.hpp"
#include "net_test_support.hpp"
#include "net/tensor_codec.hpp"

namespace tandem::net {
namespace {

using test::round_trip;

// Bytes a frame of these tensors carries after the header.
std::size_t payload_size(const std::vector<WireTensor>& in) {
  OutgoingFrame f(MessageType::infer, 1);
  for (const auto& t : in) EXPECT_FALSE(encode_tensor(f, t).has_value());
  EXPECT_TRUE(f.finish());
  std::size_t n = 0;
  const auto buffers = f.buffers();
  for (std::size_t i = 1; i < buffers.size(); ++i) n += buffers[i].size();
  return n;
}

// Activations as a ReLU leaves them: about half zeros, the rest |N(0, σ_c)|
// with a different spread per channel.
std::vector<float> activations(const Shape& shape, std::uint32_t seed) {
  std::int64_t n = 1;
  for (auto d : shape) n *= d;
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal;
  std::vector<float> v(static_cast<std::size_t>(n));
  const std::int64_t channels = shape.size() >= 3 ? shape[1] : 1;
  std::int64_t inner = 1;
  for (std::size_t d = 2; d < shape.size(); ++d) inner *= shape[d];
  for (std::size_t i = 0; i < v.size(); ++i) {
    const auto c = static_cast<float>((static_cast<std::int64_t>(i) / inner) % channels);
    v[i] = std::max(0.0f, normal(rng) * (0.1f + c));
  }
  return v;
}

// The int8 error bound of each element: half its channel's step.
void expect_within_int8_bound(const std::vector<float>& in, const std::vector<float>& out, const Shape& shape) {
  ASSERT_EQ(in.size(), out.size());
  const auto channels = static_cast<std::size_t>(int8_channels(shape));
  std::size_t inner = in.size();
  if (shape.size() >= 3) {
    inner = 1;
    for (std::size_t d = 2; d < shape.size(); ++d) inner *= static_cast<std::size_t>(shape[d]);
  }
  std::vector<float> lo(channels, INFINITY), hi(channels, -INFINITY);
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (!std::isfinite(in[i])) continue;
    const std::size_t c = (i / inner) % channels;
    lo[c] = std::min(lo[c], in[i]);
    hi[c] = std::max(hi[c], in[i]);
  }
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (!std::isfinite(in[i])) continue;
    const std::size_t c = (i / inner) % channels;
    const double step = (static_cast<double>(hi[c]) - lo[c]) / 255.0;
    EXPECT_LE(std::abs(static_cast<double>(out[i]) - in[i]), step / 2 + 1e-6 * std::max(1.0, std::abs(double(in[i]))))
        << "element " << i << " of channel " << c;
  }
}

TEST(Int8, RoundTripErrorIsHalfAStepPerChannel) {
  for (const Shape& shape : {Shape{1, 16, 7, 7}, Shape{2, 3, 5}, Shape{1, 10}, Shape{100}, Shape{1, 1, 28, 28}}) {
    const auto values = activations(shape, 7);
    const auto out = round_trip({make_f32_tensor(3, shape, values, Codec::int8)});
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].codec, Codec::int8);
    EXPECT_EQ(out[0].dtype, DType::f32);
    expect_within_int8_bound(values, to_floats(out[0]), shape);
  }
}

TEST(Int8, EndsOfEachChannelAndConstantChannelsAreExact) {
  // Channel 0 constant, channel 1 a ramp from -3 to 5: both ends survive exactly.
  const Shape shape{1, 2, 2, 2};
  const std::vector<float> values{4, 4, 4, 4, -3, 1, 2, 5};
  const auto back = to_floats(round_trip({make_f32_tensor(1, shape, values, Codec::int8)})[0]);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(back[i], 4.0f);
  EXPECT_EQ(back[4], -3.0f);
  EXPECT_NEAR(back[7], 5.0f, 1e-6);
}

TEST(Int8, NonFiniteValuesClampToTheChannelRange) {
  const float inf = std::numeric_limits<float>::infinity();
  const std::vector<float> values{1, std::nanf(""), inf, -inf, 3};
  const auto back = to_floats(round_trip({make_f32_tensor(1, {5}, values, Codec::int8)})[0]);
  EXPECT_EQ(back[0], 1.0f);
  EXPECT_EQ(back[1], 1.0f);          // NaN: the smallest value
  EXPECT_NEAR(back[2], 3.0f, 1e-6);  // +inf: the largest
  EXPECT_EQ(back[3], 1.0f);          // -inf: the smallest
  EXPECT_NEAR(back[4], 3.0f, 1e-6);
  const std::vector<float> none{std::nanf(""), inf};
  EXPECT_EQ(to_floats(round_trip({make_f32_tensor(1, {2}, none, Codec::int8)})[0]), (std::vector<float>{0, 0}));
  // Extremes whose difference overflows float still round-trip within the bound.
  const float big = std::numeric_limits<float>::max();
  const std::vector<float> wide{-big, 0, big};
  const auto back_wide = to_floats(round_trip({make_f32_tensor(1, {3}, wide, Codec::int8)})[0]);
  EXPECT_EQ(back_wide[0], -big);
  EXPECT_NEAR(back_wide[2], big, big / 255);
}

TEST(Int8, SendsAQuarterOfTheBytesPlusChannelParameters) {
  const Shape shape{1, 16, 14, 14};
  const auto values = activations(shape, 1);
  const auto raw = payload_size({make_f32_tensor(1, shape, values)});
  const auto int8 = payload_size({make_f32_tensor(1, shape, values, Codec::int8)});
  EXPECT_EQ(raw - int8, 4 * values.size() - (values.size() + 8 * 16) - 0);  // same header and padding
}

TEST(Zstd, RoundTripsAreExactOnTopOfEachPrecision) {
  const Shape shape{1, 8, 14, 14};
  const auto values = activations(shape, 11);
  for (Codec base : {Codec::raw, Codec::fp16, Codec::int8}) {
    const auto plain = round_trip({make_f32_tensor(1, shape, values, base)});
    const auto zipped = round_trip({make_f32_tensor(1, shape, values, with_zstd(base, true))});
    ASSERT_EQ(zipped.size(), 1u);
    EXPECT_EQ(zipped[0].codec, with_zstd(base, true)) << "ReLU output compresses";
    const auto a = to_floats(plain[0]), b = to_floats(zipped[0]);
    ASSERT_EQ(a.size(), b.size());
    for (std::size_t i = 0; i < a.size(); ++i) {
      ASSERT_EQ(std::bit_cast<std::uint32_t>(a[i]), std::bit_cast<std::uint32_t>(b[i])) << static_cast<int>(base) << " " << i;
    }
    EXPECT_LT(payload_size({make_f32_tensor(1, shape, values, with_zstd(base, true))}),
              payload_size({make_f32_tensor(1, shape, values, base)}));
  }
}

TEST(Zstd, IncompressibleTensorsTravelWithoutIt) {
  std::mt19937 rng(5);
  std::vector<float> noise(4096);
  for (auto& v : noise) v = std::bit_cast<float>(static_cast<std::uint32_t>(rng() & 0x3FFFFFFFu));
  const auto out = round_trip({make_f32_tensor(1, {4096}, noise, Codec::raw_zstd)});
  EXPECT_EQ(out[0].codec, Codec::raw);
  EXPECT_EQ(to_floats(out[0]), noise);
}

TEST(Zstd, AppliesToNonFloatTensors) {
  auto ids = std::make_shared<std::vector<std::int64_t>>(512, 7);
  WireTensor t;
  t.node_id = 4;
  t.dtype = DType::i64;
  t.codec = Codec::raw_zstd;
  t.shape = {512};
  t.data = std::as_bytes(std::span<const std::int64_t>(*ids));
  t.owner = ids;
  const auto out = round_trip({t});
  EXPECT_EQ(out[0].codec, Codec::raw_zstd);
  ASSERT_EQ(out[0].data.size(), 512u * 8);
  EXPECT_TRUE(std::equal(out[0].data.begin(), out[0].data.end(), t.data.begin()));
  t.codec = Codec::int8;  // int8 is for f32 only
  EXPECT_TRUE(validate_tensor(t).has_value());
}

TEST(Zstd, CodecHelpers) {
  EXPECT_EQ(precision_of(Codec::int8_zstd), Codec::int8);
  EXPECT_EQ(with_zstd(Codec::fp16, true), Codec::fp16_zstd);
  EXPECT_EQ(with_zstd(Codec::fp16_zstd, false), Codec::fp16);
  EXPECT_TRUE(uses_zstd(Codec::raw_zstd));
  EXPECT_FALSE(uses_zstd(Codec::int8));
}

// A tensor record carrying `data` as it is, with the given codec and shape.
std::shared_ptr<std::vector<std::byte>> record(std::uint8_t codec, const std::vector<std::int64_t>& dims,
                                               const std::vector<std::byte>& data, std::uint8_t dtype = 1) {
  return test::tensor_record(dtype, codec, dims, data.size(), data);
}

Expected<WireTensor> decode(const std::shared_ptr<std::vector<std::byte>>& payload) {
  ByteReader r(*payload);
  return decode_tensor(r, payload);
}

std::vector<std::byte> bytes_of(std::span<const float> f) {
  const auto b = std::as_bytes(f);
  return {b.begin(), b.end()};
}

std::vector<std::byte> zstd_of(const std::vector<std::byte>& in) { return zstd_compress(in); }

TEST(Zstd, DecoderRefusesWhatAnEncoderNeverWrites) {
  const std::vector<float> eight(8, 1.5f);
  const auto raw = bytes_of(eight);
  ASSERT_TRUE(decode(record(16, {8}, zstd_of(raw))).ok());
  std::vector<std::byte> trailing = zstd_of(raw);
  trailing.push_back(std::byte{0});
  std::vector<std::byte> truncated = zstd_of(raw);
  truncated.pop_back();
  std::vector<std::byte> garbage(40, std::byte{0x11});
  std::vector<std::byte> long_garbage(100, std::byte{0x11});
  // A frame without a recorded content size.
  std::vector<std::byte> unsized(ZSTD_compressBound(raw.size()));
  {
    ZSTD_CCtx* c = ZSTD_createCCtx();
    ZSTD_CCtx_setParameter(c, ZSTD_c_contentSizeFlag, 0);
    unsized.resize(ZSTD_compress2(c, unsized.data(), unsized.size(), raw.data(), raw.size()));
    ZSTD_freeCCtx(c);
  }
  // Scales that are not finite or negative.
  std::vector<std::byte> nan_scale(8 + 4);
  const float nan = std::nanf("");
  std::memcpy(nan_scale.data() + 4, &nan, 4);
  std::vector<std::byte> negative_scale(8 + 4);
  const float minus = -1;
  std::memcpy(negative_scale.data() + 4, &minus, 4);
  struct Case {
    const char* name;
    std::shared_ptr<std::vector<std::byte>> payload;
  };
  const Case cases[] = {
      {"frame for another size", record(16, {4}, zstd_of(raw))},
      {"trailing byte after the frame", record(16, {8}, trailing)},
      {"truncated frame", record(16, {8}, truncated)},
      {"not zstd", record(16, {10}, garbage)},
      {"no recorded size", record(16, {8}, unsized)},
      {"empty frame", record(16, {8}, {})},
      {"frame larger than zstd's bound", record(16, {1}, long_garbage)},
      {"decompresses past the limit", record(16, {1ll << 27}, zstd_of(raw))},
      {"int8 with a NaN scale", record(2, {4}, nan_scale)},
      {"int8 with a negative scale", record(2, {4}, negative_scale)},
      {"int8 block of the wrong size", record(2, {5}, nan_scale)},
      {"int8 on an i64 tensor", record(2, {4}, nan_scale, 3)},
      {"unknown codec 3", record(3, {2}, std::vector<std::byte>(8))},
      {"unknown codec 19", record(19, {2}, std::vector<std::byte>(8))},
  };
  for (const Case& c : cases) {
    const auto t = decode(c.payload);
    ASSERT_FALSE(t.ok()) << c.name;
    EXPECT_EQ(t.error().code, make_error_code(Errc::invalid_tensor)) << c.name << ": " << t.error().message;
  }
}

}  // namespace
}  // namespace tandem::net
