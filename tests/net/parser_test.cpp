#include "net/parser.hpp"

#include <gtest/gtest.h>

#include "net/messages.hpp"
#include "net_test_support.hpp"

namespace tandem::net {
namespace {

using test::frame_bytes;

std::vector<std::byte> valid_frame() {
  return frame_bytes(encode_message(test::toy_request(37, 1.0f), 77).value());
}

void expect_same_frame(const Frame& f, const std::vector<std::byte>& wire) {
  EXPECT_EQ(f.header.type, MessageType::infer);
  EXPECT_EQ(f.header.request_id, 77u);
  ASSERT_EQ(f.bytes().size(), wire.size() - k_header_size);
  EXPECT_TRUE(std::equal(f.bytes().begin(), f.bytes().end(), wire.begin() + k_header_size));
}

TEST(FrameParser, WholeFrameIsGood) {
  const auto wire = valid_frame();
  FrameParser p;
  const auto step = p.feed(wire);
  ASSERT_EQ(step.status, ParseStatus::good);
  EXPECT_EQ(step.consumed, wire.size());
  expect_same_frame(p.take_frame(), wire);
}

TEST(FrameParser, EveryTwoWaySplitGivesNeedMoreThenGood) {
  const auto wire = valid_frame();
  for (std::size_t split = 0; split <= wire.size(); ++split) {
    FrameParser p;
    const std::span<const std::byte> all(wire);
    const auto first = p.feed(all.first(split));
    if (split < wire.size()) {
      ASSERT_EQ(first.status, ParseStatus::need_more) << split;
      ASSERT_EQ(first.consumed, split);
      const auto second = p.feed(all.subspan(split));
      ASSERT_EQ(second.status, ParseStatus::good) << split;
    } else {
      ASSERT_EQ(first.status, ParseStatus::good);
    }
    expect_same_frame(p.take_frame(), wire);
  }
}

TEST(FrameParser, ByteByByteAndBackToBackFrames) {
  auto wire = valid_frame();
  const auto one = wire.size();
  wire.insert(wire.end(), wire.begin(), wire.end());
  FrameParser p;
  int frames = 0;
  for (std::size_t i = 0; i < wire.size(); ++i) {
    const auto step = p.feed(std::span<const std::byte>(&wire[i], 1));
    ASSERT_NE(step.status, ParseStatus::bad);
    if (step.status == ParseStatus::good) {
      ++frames;
      EXPECT_EQ(i + 1, one * static_cast<std::size_t>(frames));
      expect_same_frame(p.take_frame(), valid_frame());
    }
  }
  EXPECT_EQ(frames, 2);
}

TEST(FrameParser, PayloadWindowReceivesDirectly) {
  const auto wire = valid_frame();
  FrameParser p;
  ASSERT_EQ(p.feed(std::span<const std::byte>(wire).first(k_header_size)).status, ParseStatus::need_more);
  auto window = p.payload_window();
  ASSERT_EQ(window.size(), wire.size() - k_header_size);
  std::copy(wire.begin() + k_header_size, wire.end(), window.begin());
  EXPECT_EQ(p.commit_payload(window.size()).status, ParseStatus::good);
  expect_same_frame(p.take_frame(), wire);
}

struct BadCase {
  const char* name;
  std::size_t offset;
  std::uint8_t value;
  Errc expected;
  std::size_t rejected_after;  // bytes fed when the parser must already say bad
};

TEST(FrameParser, RejectsEachBadHeaderFieldAsSoonAsItArrives) {
  const BadCase cases[] = {
      {"magic byte 0", 0, 'X', Errc::bad_magic, 1},
      {"magic byte 3", 3, 'X', Errc::bad_magic, 4},
      {"version", 4, 1, Errc::unsupported_version, 6},
      {"type 0", 6, 0, Errc::unknown_message_type, 7},
      {"type 200", 6, 200, Errc::unknown_message_type, 7},
      {"flags", 7, 0x80, Errc::bad_flags, 8},
  };
  for (const BadCase& c : cases) {
    auto wire = valid_frame();
    wire[c.offset] = static_cast<std::byte>(c.value);
    FrameParser p;
    ParseStep step;
    std::size_t fed = 0;
    while (fed < wire.size()) {
      step = p.feed(std::span<const std::byte>(&wire[fed], 1));
      ++fed;
      if (step.status != ParseStatus::need_more) break;
    }
    EXPECT_EQ(step.status, ParseStatus::bad) << c.name;
    EXPECT_EQ(fed, c.rejected_after) << c.name;
    EXPECT_EQ(p.error().code, make_error_code(c.expected)) << c.name << ": " << p.error().message;
    EXPECT_EQ(p.feed(wire).status, ParseStatus::bad) << "bad is sticky";
  }
}

TEST(FrameParser, OversizedLengthRejectedBeforeAllocation) {
  auto wire = valid_frame();
  // 0xFFFFFFFF bytes: if the parser allocated first this would be a 4 GiB allocation.
  for (std::size_t i = k_off_length; i < k_off_length + 4; ++i) wire[i] = std::byte{0xFF};
  FrameParser p(1024 * 1024);
  const auto step = p.feed(std::span<const std::byte>(wire).first(k_off_crc));
  ASSERT_EQ(step.status, ParseStatus::bad);
  EXPECT_EQ(p.error().code, make_error_code(Errc::frame_too_large));
  EXPECT_TRUE(p.payload_window().empty());
}

TEST(FrameParser, LimitIsInclusive) {
  const auto wire = valid_frame();
  const auto payload = static_cast<std::uint32_t>(wire.size() - k_header_size);
  FrameParser exact(payload);
  EXPECT_EQ(exact.feed(wire).status, ParseStatus::good);
  FrameParser below(payload - 1);
  EXPECT_EQ(below.feed(wire).status, ParseStatus::bad);
  EXPECT_EQ(below.error().code, make_error_code(Errc::frame_too_large));
}

TEST(FrameParser, BadChecksumInPayloadOrHeader) {
  auto flipped_payload = valid_frame();
  flipped_payload.back() ^= std::byte{0x01};
  FrameParser p1;
  EXPECT_EQ(p1.feed(flipped_payload).status, ParseStatus::bad);
  EXPECT_EQ(p1.error().code, make_error_code(Errc::bad_checksum));

  auto flipped_crc = valid_frame();
  flipped_crc[k_off_crc] ^= std::byte{0x01};
  FrameParser p2;
  EXPECT_EQ(p2.feed(flipped_crc).status, ParseStatus::bad);
  EXPECT_EQ(p2.error().code, make_error_code(Errc::bad_checksum));
}

TEST(FrameParser, EmptyPayloadFrame) {
  const auto wire = frame_bytes(encode_status_request(5).value());
  ASSERT_EQ(wire.size(), k_header_size);
  FrameParser p;
  EXPECT_EQ(p.feed(wire).status, ParseStatus::good);
  const Frame f = p.take_frame();
  EXPECT_EQ(f.header.type, MessageType::status_request);
  EXPECT_TRUE(f.bytes().empty());
}

TEST(FrameParser, TruncatedFrameIsNeedMoreNotGood) {
  const auto wire = valid_frame();
  FrameParser p;
  EXPECT_EQ(p.feed(std::span<const std::byte>(wire).first(wire.size() - 1)).status, ParseStatus::need_more);
  EXPECT_TRUE(p.mid_frame());
}

// A header announcing `length` payload bytes, the rest of the frame not sent.
std::vector<std::byte> header_announcing(std::uint32_t length) {
  auto wire = valid_frame();
  wire.resize(k_header_size);
  for (std::size_t i = 0; i < 4; ++i) wire[k_off_length + i] = static_cast<std::byte>((length >> (8 * i)) & 0xFFu);
  return wire;
}

TEST(FrameParser, AnnouncedLengthAloneReservesNothing) {
  auto account = std::make_shared<ByteAccount>(nullptr, std::size_t{1} << 30);
  FrameParser p(k_default_max_payload);
  p.set_account(account);
  ASSERT_EQ(p.feed(header_announcing(k_default_max_payload)).status, ParseStatus::need_more);
  EXPECT_EQ(account->used(), 0u) << "a 256 MiB header reserved memory before any payload byte";
  const std::vector<std::byte> some(1000, std::byte{7});
  ASSERT_EQ(p.feed(some).status, ParseStatus::need_more);
  EXPECT_LE(account->used(), 64u * 1024) << "memory runs ahead of the bytes by more than one step";
  // The window offers a whole 64 KiB read (so large payloads are read in
  // place), still within twice what arrived plus one step.
  EXPECT_GE(p.payload_window().size(), 64u * 1024);
  EXPECT_LE(account->used(), 2 * some.size() + 64u * 1024);
}

TEST(FrameParser, PayloadMemoryStaysWithinTwiceWhatArrived) {
  auto account = std::make_shared<ByteAccount>(nullptr, std::size_t{1} << 30);
  FrameParser p(k_default_max_payload);
  p.set_account(account);
  ASSERT_EQ(p.feed(header_announcing(64u << 20)).status, ParseStatus::need_more);
  std::size_t arrived = 0;
  while (arrived < (std::size_t{8} << 20)) {
    auto window = p.payload_window();
    ASSERT_FALSE(window.empty());
    ASSERT_EQ(p.commit_payload(window.size()).status, ParseStatus::need_more);
    arrived += window.size();
    EXPECT_LE(account->used(), 2 * arrived + 64 * 1024) << "after " << arrived << " bytes";
  }
}

TEST(FrameParser, PayloadOverTheAccountIsReadAndDropped) {
  auto account = std::make_shared<ByteAccount>(nullptr, 256 * 1024);
  const auto big = frame_bytes(encode_message(test::toy_request(200'000, 1.0f), 5).value());  // ~800 KB
  const auto small = valid_frame();
  std::vector<std::byte> wire = big;
  wire.insert(wire.end(), small.begin(), small.end());
  FrameParser p;
  p.set_account(account);
  std::size_t fed = 0;
  ParseStep step;
  while (fed < big.size()) {
    step = p.feed(std::span<const std::byte>(wire).subspan(fed, std::min<std::size_t>(4096, big.size() - fed)));
    fed += step.consumed;
    if (step.status != ParseStatus::need_more) break;
  }
  ASSERT_EQ(step.status, ParseStatus::dropped);
  EXPECT_EQ(fed, big.size()) << "the whole dropped frame is consumed, and no more";
  const Frame dropped = p.take_frame();
  EXPECT_EQ(dropped.header.request_id, 5u);
  EXPECT_EQ(dropped.payload, nullptr);
  EXPECT_EQ(account->used(), 0u);
  // The stream stays in step: the next frame parses.
  ASSERT_EQ(p.feed(std::span<const std::byte>(wire).subspan(fed)).status, ParseStatus::good);
  expect_same_frame(p.take_frame(), small);
}

}  // namespace
}  // namespace tandem::net
