#include "net/frame_io.hpp"

#include <climits>

#include <sys/socket.h>
#include <sys/uio.h>

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
constexpr std::size_t k_max_coalesced_frames = 64;
}  // namespace

FrameReader::FrameReader(std::uint32_t max_payload) : parser_(max_payload), staging_(k_payload_step) {}

ReadOutcome FrameReader::finish(bool dropped) {
  ReadOutcome out;
  out.dropped = dropped;
  out.frame = parser_.take_frame();
  const std::size_t frame_size = k_header_size + out.frame.header.payload_length;
  out.timing.receive_ms = std::chrono::duration<double, std::milli>(chunk_time_ - frame_start_).count();
  out.timing.timed_bytes = frame_size - std::min(frame_size, first_chunk_bytes_);
  return out;
}

asio::awaitable<ReadOutcome> FrameReader::read(Stream& stream) {
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
      if (step.status == ParseStatus::good || step.status == ParseStatus::dropped) {
        co_return finish(step.status == ParseStatus::dropped);
      }
      if (step.status == ParseStatus::bad) co_return bad();
    }
    staged_begin_ = staged_end_ = 0;

    const auto window = parser_.payload_window();
    const bool direct = window.size() >= staging_.size();
    const Transfer t = co_await stream.read_some(direct ? asio::buffer(window.data(), window.size())
                                                        : asio::buffer(staging_));
    if (t.ec) {
      ReadOutcome out;
      if (t.ec == asio::error::eof && mid_frame()) {
        out.protocol_error = Error::make(
            Errc::truncated_frame, fmt::format("connection closed after {} bytes of a frame", parser_.frame_bytes_seen()));
      } else {
        out.io_error = t.ec;
      }
      co_return out;
    }
    chunk_time_ = clock::now();
    if (direct) {
      const auto step = parser_.commit_payload(t.bytes);
      if (step.status == ParseStatus::good) co_return finish(false);
      if (step.status == ParseStatus::bad) co_return bad();
    } else {
      staged_end_ = t.bytes;
    }
  }
}

WriteQueue::WriteQueue(Stream& stream, LinkEmulator* emulator)
    : stream_(stream), emulator_(emulator), wake_(stream.socket().get_executor()) {
  wake_.expires_at(clock::time_point::max());
}

void WriteQueue::push(OutgoingFrame frame, std::function<void()> written) {
  if (stopped_) return;
  if (gate_) {
    std::lock_guard lock(gate_->mutex);
    gate_->quiet = false;
  }
  if (idle()) progress_ = clock::now();
  pending_bytes_ += frame.wire_size();
  queue_.push_back({std::move(frame), std::move(written)});
  wake_.cancel();
}

void WriteQueue::push_remainder(OutgoingFrame frame, std::size_t written_bytes, std::function<void()> written) {
  {
    std::lock_guard lock(gate_->mutex);
    gate_->quiet = false;
    gate_->remainder_pending = false;
  }
  if (stopped_) return;
  if (idle()) progress_ = clock::now();
  pending_bytes_ += frame.wire_size() - written_bytes;
  queue_.push_front({std::move(frame), std::move(written), written_bytes});
  wake_.cancel();
}

std::optional<std::size_t> DirectWriteGate::try_write(Stream& stream, const OutgoingFrame& frame,
                                                      const std::function<void()>& before) {
  std::lock_guard lock(mutex);
  if (closed || !quiet || remainder_pending) return std::nullopt;
  if (before) before();
  const auto pieces = frame.buffers();
  std::vector<iovec> iov;
  iov.reserve(std::min<std::size_t>(pieces.size(), IOV_MAX));
  for (const auto& b : pieces) {
    if (iov.size() == IOV_MAX) break;
    if (b.size() > 0) iov.push_back({const_cast<void*>(b.data()), b.size()});
  }
  msghdr msg{};
  msg.msg_iov = iov.data();
  msg.msg_iovlen = iov.size();
  const ssize_t n = ::sendmsg(stream.socket().native_handle(), &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
  const std::size_t sent = n > 0 ? static_cast<std::size_t>(n) : 0;
  if (sent < frame.wire_size()) remainder_pending = true;
  return sent;
}

bool WriteQueue::remainder_pending() {
  if (!gate_) return false;
  std::lock_guard lock(gate_->mutex);
  return gate_->remainder_pending;
}

bool WriteQueue::claim() {
  if (!gate_) return true;
  std::lock_guard lock(gate_->mutex);
  if (gate_->remainder_pending) return false;
  gate_->quiet = false;
  return true;
}

void WriteQueue::mark_quiet() {
  if (!gate_) return;
  std::lock_guard lock(gate_->mutex);
  if (queue_.empty() && !writing_) gate_->quiet = true;
}

void WriteQueue::stop() {
  if (gate_) gate_->close();
  stopped_ = true;
  queue_.clear();
  pending_bytes_ = 0;
  wake_.cancel();
}

void WriteQueue::close_after_drain() {
  if (gate_) gate_->close();
  drain_then_stop_ = true;
  wake_.cancel();
}

asio::awaitable<boost::system::error_code> WriteQueue::run() {
  for (;;) {
    if (stopped_) co_return boost::system::error_code{};
    // Empty, or held while another thread's partly written frame is on its
    // way here (push_remainder wakes the queue).
    if (queue_.empty() || !claim()) {
      if (queue_.empty() && drain_then_stop_ && !remainder_pending()) co_return boost::system::error_code{};
      mark_quiet();
      boost::system::error_code ignored;
      wake_.expires_at(clock::time_point::max());
      co_await wake_.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
      continue;
    }
    // Coalesce what is queued into one gather write; the frames stay alive until it completes.
    std::vector<Queued> batch;
    std::size_t batch_bytes = 0;
    while (!queue_.empty() && batch.size() < k_max_coalesced_frames) {
      batch_bytes += queue_.front().frame.wire_size() - queue_.front().skip;
      batch.push_back(std::move(queue_.front()));
      queue_.pop_front();
    }
    std::vector<asio::const_buffer> buffers;
    for (const Queued& q : batch) {
      const auto b = q.frame.buffers();
      std::size_t skip = q.skip;
      for (asio::const_buffer piece : b) {
        const std::size_t step = std::min(skip, piece.size());
        piece += step;
        skip -= step;
        if (piece.size() > 0) buffers.push_back(piece);
      }
    }
    writing_ = true;
    boost::system::error_code ec;
    if (emulator_ != nullptr) {
      ec = co_await emulator_->write(buffers);
      progress_ = clock::now();
    } else {
      ec = co_await write_all(stream_, std::move(buffers), &progress_);
    }
    writing_ = false;
    pending_bytes_ -= std::min(pending_bytes_, batch_bytes);
    if (ec) {
      if (gate_) gate_->close();
      co_return ec;
    }
    for (Queued& q : batch) {
      if (q.written) q.written();
    }
    if (queue_.empty()) mark_quiet();
  }
}

}  // namespace tandem::net
