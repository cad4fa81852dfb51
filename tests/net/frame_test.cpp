#include "net/frame.hpp"

#include <random>
#include <string_view>

#include <gtest/gtest.h>

#include "net/crc32c.hpp"

namespace tandem::net {
namespace {

std::span<const std::byte> bytes_of(std::string_view s) { return std::as_bytes(std::span(s.data(), s.size())); }

TEST(Crc32c, KnownAnswers) {
  EXPECT_EQ(crc32c(bytes_of("123456789")), 0xE3069283u);  // the standard check value
  EXPECT_EQ(crc32c({}), 0u);
  const std::vector<std::byte> zeros(32, std::byte{0});
  EXPECT_EQ(crc32c(zeros), 0x8A9136AAu);  // RFC 3720 B.4: 32 bytes of zeros
  const std::vector<std::byte> ones(32, std::byte{0xFF});
  EXPECT_EQ(crc32c(ones), 0x62A8AB43u);  // RFC 3720 B.4: 32 bytes of 0xFF
}

TEST(Crc32c, HardwareAndTableAgreeAndChunkingDoesNotMatter) {
  std::mt19937 rng(7);
  std::vector<std::byte> data(10'007);
  for (auto& b : data) b = static_cast<std::byte>(rng());
  const std::uint32_t whole = crc32c(data);
  EXPECT_EQ(whole, crc32c_update_portable(0, data));
  for (std::size_t split : {0u, 1u, 7u, 8u, 9u, 4096u, 10'006u}) {
    const std::span<const std::byte> all(data);
    EXPECT_EQ(crc32c_update(crc32c(all.first(split)), all.subspan(split)), whole) << split;
  }
}

// Past 24 KiB the hardware path runs three interleaved chains over 8 KiB
// blocks and combines them: every length around the block edges, and a
// start that is not 8-byte aligned, agree with the table.
TEST(Crc32c, InterleavedHardwarePathAgreesWithTheTable) {
  std::mt19937 rng(11);
  std::vector<std::byte> data(3 * 3 * 8192 + 64);
  for (auto& b : data) b = static_cast<std::byte>(rng());
  const std::span<const std::byte> all(data);
  for (std::size_t n : {3 * 8192 - 1, 3 * 8192, 3 * 8192 + 1, 3 * 8192 + 8, 6 * 8192 + 7, 9 * 8192, 9 * 8192 + 63}) {
    for (std::size_t offset : {0u, 1u}) {
      const auto part = all.subspan(offset, n);
      EXPECT_EQ(crc32c(part), crc32c_update_portable(0, part)) << n << " from " << offset;
      EXPECT_EQ(crc32c_update(0x12345678u, part), crc32c_update_portable(0x12345678u, part)) << n;
    }
  }
}

TEST(FrameHeader, LittleEndianLayoutIsExact) {
  FrameHeader h;
  h.type = MessageType::infer;
  h.flags = frame_flags::closing;
  h.request_id = 0x0102030405060708ull;
  h.payload_length = 0x0A0B0C0Du;
  h.payload_crc = 0x11223344u;
  std::array<std::byte, k_header_size> out{};
  encode_header(h, out);
  const std::array<std::uint8_t, k_header_size> expected = {
      'T', 'N', 'D', 'M',                               // magic
      0x02, 0x00,                                       // version 2
      0x04,                                             // type infer
      0x01,                                             // flags
      0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01,   // request id
      0x0D, 0x0C, 0x0B, 0x0A,                           // payload length
      0x44, 0x33, 0x22, 0x11};                          // crc
  for (std::size_t i = 0; i < k_header_size; ++i) EXPECT_EQ(static_cast<std::uint8_t>(out[i]), expected[i]) << i;
  std::uint32_t magic = 0;
  const FrameHeader back = decode_header(out, &magic);
  EXPECT_EQ(magic, k_frame_magic);
  EXPECT_EQ(back.version, 2);
  EXPECT_EQ(back.type, MessageType::infer);
  EXPECT_EQ(back.flags, frame_flags::closing);
  EXPECT_EQ(back.request_id, h.request_id);
  EXPECT_EQ(back.payload_length, h.payload_length);
  EXPECT_EQ(back.payload_crc, h.payload_crc);
}

TEST(OutgoingFrame, GatherListReferencesExternalBytesWithoutCopying) {
  auto big = std::make_shared<std::vector<std::byte>>(1000, std::byte{0x42});
  OutgoingFrame f(MessageType::result, 9);
  f.inline_bytes().push_back(std::byte{1});
  f.append_external(*big, big);
  f.inline_bytes().push_back(std::byte{2});
  ASSERT_TRUE(f.finish());
  const auto buffers = f.buffers();
  ASSERT_EQ(buffers.size(), 4u);  // header, inline, external, inline
  EXPECT_EQ(buffers[0].size(), k_header_size);
  EXPECT_EQ(buffers[2].data(), big->data());  // the tensor bytes themselves, not a copy
  EXPECT_EQ(f.wire_size(), k_header_size + 1002);
  EXPECT_EQ(f.header().payload_length, 1002u);
  std::vector<std::byte> payload{std::byte{1}};
  payload.insert(payload.end(), big->begin(), big->end());
  payload.push_back(std::byte{2});
  EXPECT_EQ(f.header().payload_crc, crc32c(payload));
}

}  // namespace
}  // namespace tandem::net
