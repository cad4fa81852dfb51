#include "net/frame_io.hpp"

#include <algorithm>
#include <span>

#include <boost/asio/buffer.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <fmt/format.h>

#include "net/link_emulator.hpp"

namespace tandem::net {
namespace asio = boost::asio;
using clock = std::chrono::steady_clock;

namespace {
constexpr std::size_t k_staging_size = 64 * 1024;
constexpr std::size_t k_max_coalesced_frames = 64;
constexpr std::size_t k_max_iovecs = 64;  // buffers offered to one sendmsg (IOV_MAX is 1024)
}  // namespace

FrameReader::FrameReader(std::uint32_t max_payload) : parser_(max_payload), staging_(k_staging_size) {}

ReadOutcome FrameReader::finish() {
  ReadOutcome out;
  out.frame = parser_.take_frame();
  const std::size_t frame_size = k_header_size + out.frame.header.payload_length;
  out.timing.receive_ms = std::chrono::duration<double, std::milli>(chunk_time_ - frame_start_).count();
  out.timing.timed_bytes = frame_size - std::min(frame_size, first_chunk_bytes_);
  return out;
}

asio::awaitable<ReadOutcome> FrameReader::read(asio::ip::tcp::socket& socket) {
  auto bad = [this]() {
    ReadOutcome out;
    out.protocol_error = parser_.error();
    return out;
  };
  for (;;) {
    while (staged_begin_ < staged_end_) {
      const bool starting = parser_.frame_bytes_seen() == 0;
      const auto step = parser_.feed(std::span<const std::byte>(staging_).subspan(staged_begin_, staged_end_ - staged_begin_));
      staged_begin_ += step.consumed;
      if (starting) {
        frame_start_ = chunk_time_;
        first_chunk_bytes_ = step.consumed;
      }
      if (step.status == ParseStatus::good) co_return finish();
      if (step.status == ParseStatus::bad) co_return bad();
    }
    staged_begin_ = staged_end_ = 0;

    boost::system::error_code ec;
    const auto window = parser_.payload_window();
    const bool direct = window.size() >= staging_.size();
    std::size_t n = 0;
    if (direct) {
      n = co_await socket.async_read_some(asio::buffer(window.data(), window.size()),
                                          asio::redirect_error(asio::use_awaitable, ec));
    } else {
      n = co_await socket.async_read_some(asio::buffer(staging_), asio::redirect_error(asio::use_awaitable, ec));
    }
    if (ec) {
      ReadOutcome out;
      if (ec == asio::error::eof && mid_frame()) {
        out.protocol_error = Error::make(
            Errc::truncated_frame, fmt::format("connection closed after {} bytes of a frame", parser_.frame_bytes_seen()));
      } else {
        out.io_error = ec;
      }
      co_return out;
    }
    chunk_time_ = clock::now();
    if (direct) {
      const auto step = parser_.commit_payload(n);
      if (step.status == ParseStatus::good) co_return finish();
      if (step.status == ParseStatus::bad) co_return bad();
    } else {
      staged_end_ = n;
    }
  }
}

WriteQueue::WriteQueue(asio::ip::tcp::socket& socket, LinkEmulator* emulator)
    : socket_(socket), emulator_(emulator), wake_(socket.get_executor()) {
  wake_.expires_at(clock::time_point::max());
}

void WriteQueue::push(OutgoingFrame frame, std::function<void()> written) {
  if (stopped_) return;
  queue_.push_back({std::move(frame), std::move(written)});
  wake_.cancel();
}

void WriteQueue::stop() {
  stopped_ = true;
  queue_.clear();
  wake_.cancel();
}

void WriteQueue::close_after_drain() {
  drain_then_stop_ = true;
  wake_.cancel();
}

asio::awaitable<boost::system::error_code> WriteQueue::write_all(std::vector<asio::const_buffer> buffers) {
  // Offers the kernel everything left in one call: asio::async_write would
  // cut the write into 64 KiB system calls (its default transfer size), so a
  // 600 KB tensor took ten sendmsg calls and, whenever the peer's window was
  // full, a wake-up of each side per piece.
  std::erase_if(buffers, [](const asio::const_buffer& b) { return b.size() == 0; });
  std::size_t first = 0;
  while (first < buffers.size()) {
    boost::system::error_code ec;
    const std::size_t count = std::min(buffers.size() - first, k_max_iovecs);
    const std::span<const asio::const_buffer> pending(buffers.data() + first, count);
    std::size_t n = co_await socket_.async_write_some(pending, asio::redirect_error(asio::use_awaitable, ec));
    ++write_calls_;
    if (ec) co_return ec;
    if (n == 0) co_return asio::error::make_error_code(asio::error::connection_aborted);
    // Drop what was written: whole buffers, then the front of a partial one.
    while (first < buffers.size() && n >= buffers[first].size()) n -= buffers[first++].size();
    if (n > 0) buffers[first] += n;
  }
  co_return boost::system::error_code{};
}

asio::awaitable<boost::system::error_code> WriteQueue::run() {
  for (;;) {
    if (stopped_) co_return boost::system::error_code{};
    if (queue_.empty()) {
      if (drain_then_stop_) co_return boost::system::error_code{};
      boost::system::error_code ignored;
      wake_.expires_at(clock::time_point::max());
      co_await wake_.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
      continue;
    }
    // Coalesce what is queued into one gather write; the frames stay alive until it completes.
    std::vector<Queued> batch;
    while (!queue_.empty() && batch.size() < k_max_coalesced_frames) {
      batch.push_back(std::move(queue_.front()));
      queue_.pop_front();
    }
    std::vector<asio::const_buffer> buffers;
    for (const Queued& q : batch) {
      const auto b = q.frame.buffers();
      buffers.insert(buffers.end(), b.begin(), b.end());
    }
    writing_ = true;
    boost::system::error_code ec;
    if (emulator_ != nullptr) {
      ec = co_await emulator_->write(buffers);
    } else {
      ec = co_await write_all(std::move(buffers));
    }
    writing_ = false;
    if (ec) co_return ec;
    for (Queued& q : batch) {
      if (q.written) q.written();
    }
  }
}

}  // namespace tandem::net
