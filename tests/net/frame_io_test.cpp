// WriteQueue and FrameReader over a real loopback TCP connection.
#include <algorithm>
#include <cstddef>
#include <memory>
#include <optional>
#include <vector>

#include <gtest/gtest.h>
#include <utility>  // before Asio: Boost 1.74's awaitable.hpp uses std::exchange without it

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "net/frame_io.hpp"

namespace tandem::net {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
constexpr auto k_bound = std::chrono::seconds(20);

struct Pair {
  asio::io_context io;
  tcp::socket writer{io};
  tcp::socket reader{io};

  // A connected loopback pair; the writer's send buffer is asked to be large.
  explicit Pair(int send_buffer) {
    tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    writer.open(tcp::v4());
    writer.set_option(asio::socket_base::send_buffer_size(send_buffer));
    writer.connect(acceptor.local_endpoint());
    acceptor.accept(reader);
  }
};

// A frame of `payload` filler bytes in `pieces` external pieces (plus the inline part).
OutgoingFrame filler_frame(std::size_t payload, std::size_t pieces, std::vector<std::byte>& expected) {
  auto bytes = std::make_shared<std::vector<std::byte>>(payload);
  for (std::size_t i = 0; i < payload; ++i) (*bytes)[i] = static_cast<std::byte>((i * 131 + 7) & 0xFF);
  OutgoingFrame frame(MessageType::probe, 42);
  const std::size_t step = (payload + pieces - 1) / pieces;
  for (std::size_t at = 0; at < payload; at += step) {
    const std::size_t n = std::min(step, payload - at);
    frame.append_external(std::span<const std::byte>(bytes->data() + at, n), bytes);
  }
  EXPECT_TRUE(frame.finish());
  expected = *bytes;
  return frame;
}

// Reads one frame from the pair's reader (on the io_context) and checks its payload.
void expect_frame(Pair& p, const std::vector<std::byte>& expected) {
  std::optional<ReadOutcome> got;
  FrameReader reader(k_default_max_payload);
  asio::co_spawn(p.io, [&]() -> asio::awaitable<void> { got = co_await reader.read(p.reader); }, asio::detached);
  p.io.restart();
  p.io.run_for(k_bound);
  ASSERT_TRUE(got.has_value()) << "no frame within the bound";
  ASSERT_TRUE(got->ok());
  EXPECT_EQ(got->frame.header.type, MessageType::probe);
  EXPECT_EQ(got->frame.header.request_id, 42u);
  ASSERT_NE(got->frame.payload, nullptr);
  EXPECT_TRUE(*got->frame.payload == expected);
}

TEST(WriteQueue, WritesAFrameLargerThan64KiBInOneSystemCallWhenTheSocketTakesIt) {
  Pair p(4 << 20);
  asio::socket_base::send_buffer_size granted;
  p.writer.get_option(granted);
  // The kernel may grant less than asked (net.core.wmem_max): a quarter of
  // what it granted certainly fits, and must still exceed Asio's 64 KiB step.
  const std::size_t payload = std::min<std::size_t>(static_cast<std::size_t>(granted.value()) / 4, 1 << 20);
  if (payload <= 96 * 1024) GTEST_SKIP() << "send buffer of " << granted.value() << " bytes is too small for this test";
  std::vector<std::byte> expected;
  WriteQueue queue(p.writer, nullptr);
  bool written = false;
  queue.push(filler_frame(payload, 3, expected), [&] {
    written = true;
    queue.close_after_drain();
  });
  std::optional<boost::system::error_code> ended;
  asio::co_spawn(p.io, queue.run(), [&](std::exception_ptr, boost::system::error_code ec) { ended = ec; });
  // Nobody reads yet: the write completes from the send buffer alone.
  p.io.run_for(k_bound);
  ASSERT_TRUE(written) << "the frame was not written within the bound";
  ASSERT_TRUE(ended.has_value());
  EXPECT_FALSE(*ended) << ended->message();
  EXPECT_EQ(queue.write_calls(), 1u) << payload << " bytes took " << queue.write_calls() << " write calls";
  expect_frame(p, expected);
}

TEST(WriteQueue, PartialWritesResumeMidBufferAndAcrossMoreThan64Buffers) {
  // A small send buffer forces partial writes; 200 pieces exceed one call's 64 buffers.
  Pair p(16 * 1024);
  std::vector<std::byte> expected;
  WriteQueue queue(p.writer, nullptr);
  bool written = false;
  queue.push(filler_frame(3 << 20, 200, expected), [&] {
    written = true;
    queue.close_after_drain();
  });
  std::optional<boost::system::error_code> ended;
  asio::co_spawn(p.io, queue.run(), [&](std::exception_ptr, boost::system::error_code ec) { ended = ec; });
  expect_frame(p, expected);  // reading drains the socket while the writer runs
  p.io.restart();
  p.io.run_for(k_bound);
  ASSERT_TRUE(written);
  ASSERT_TRUE(ended.has_value());
  EXPECT_FALSE(*ended) << ended->message();
  EXPECT_GT(queue.write_calls(), 1u);
}

}  // namespace
}  // namespace tandem::net
