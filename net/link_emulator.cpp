#include "net/link_emulator.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>

#include <boost/asio/error.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace tandem::net {
namespace asio = boost::asio;
using clock = std::chrono::steady_clock;

namespace {

constexpr double k_chunk_seconds = 0.001;  // one chunk ≈ 1 ms of link time
constexpr std::size_t k_min_chunk = 512;
constexpr std::size_t k_max_chunk = 64 * 1024;

}  // namespace

LinkEmulator::LinkEmulator(asio::any_io_executor executor, LinkSpec spec)
    : spec_(spec),
      chunk_bytes_(spec.rate_bytes_per_s > 0
                       ? std::clamp(static_cast<std::size_t>(spec.rate_bytes_per_s * k_chunk_seconds), k_min_chunk, k_max_chunk)
                       : k_max_chunk),
      pace_timer_(executor),
      delivery_wake_(executor) {}

void LinkEmulator::stop() {
  stopped_ = true;
  line_.clear();
  pace_timer_.cancel();
  delivery_wake_.cancel();
}

asio::awaitable<boost::system::error_code> LinkEmulator::write(std::vector<asio::const_buffer> buffers) {
  const auto added_delay = std::chrono::duration_cast<clock::duration>(spec_.added_rtt);
  std::vector<std::byte> chunk;
  chunk.reserve(chunk_bytes_);
  std::size_t index = 0, offset = 0;
  // An idle link earns no credit: it starts sending now. Within one write the virtual clock
  // is never reset, so a late timer wake-up is made up by the next chunks and the average
  // rate holds even on a loaded machine.
  next_free_ = std::max(next_free_, clock::now());
  while (index < buffers.size()) {
    if (stopped_) co_return asio::error::operation_aborted;
    if (delivery_error_) co_return delivery_error_;
    // Fill one chunk from the gather list.
    chunk.clear();
    while (index < buffers.size() && chunk.size() < chunk_bytes_) {
      const auto* data = static_cast<const std::byte*>(buffers[index].data());
      const std::size_t n = std::min(chunk_bytes_ - chunk.size(), buffers[index].size() - offset);
      chunk.insert(chunk.end(), data + offset, data + offset + n);
      offset += n;
      if (offset == buffers[index].size()) {
        ++index;
        offset = 0;
      }
    }
    if (chunk.empty()) continue;
    auto release = clock::now();
    if (spec_.rate_bytes_per_s > 0) {
      release = next_free_;
      next_free_ = release + std::chrono::duration_cast<clock::duration>(
                                 std::chrono::duration<double>(static_cast<double>(chunk.size()) / spec_.rate_bytes_per_s));
      if (release > clock::now()) {
        boost::system::error_code ignored;
        pace_timer_.expires_at(release);
        co_await pace_timer_.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
        if (stopped_) co_return asio::error::operation_aborted;
      }
    }
    line_.push_back(Chunk{release + added_delay, chunk});
    delivery_wake_.cancel();
  }
  co_return delivery_error_;
}

asio::awaitable<boost::system::error_code> LinkEmulator::run_delivery(Stream& stream) {
  for (;;) {
    if (stopped_) co_return boost::system::error_code{};
    boost::system::error_code ec;
    if (line_.empty() || line_.front().deliver_at > clock::now()) {
      delivery_wake_.expires_at(line_.empty() ? clock::time_point::max() : line_.front().deliver_at);
      co_await delivery_wake_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      continue;
    }
    std::vector<Chunk> due;
    const auto now = clock::now();
    while (!line_.empty() && line_.front().deliver_at <= now) {
      due.push_back(std::move(line_.front()));
      line_.pop_front();
    }
    std::vector<asio::const_buffer> buffers;
    buffers.reserve(due.size());
    for (const Chunk& c : due) buffers.emplace_back(c.bytes.data(), c.bytes.size());
    ec = co_await write_all(stream, std::move(buffers));
    if (ec) {
      delivery_error_ = ec;
      co_return ec;
    }
  }
}

std::size_t LinkEmulator::pending_bytes() const noexcept {
  std::size_t n = 0;
  for (const Chunk& c : line_) n += c.bytes.size();
  return n;
}

}  // namespace tandem::net
