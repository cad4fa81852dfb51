#include "net/link_emulator.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>

#include <boost/asio/error.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <fmt/format.h>

namespace tandem::net {
namespace asio = boost::asio;
using clock = std::chrono::steady_clock;

namespace {

constexpr double k_chunk_seconds = 0.001;  // one chunk ≈ 1 ms of link time
constexpr std::size_t k_min_chunk = 512;
constexpr std::size_t k_max_chunk = 64 * 1024;

struct Unit {
  std::string_view name;
  double factor;  // to bytes/s or to microseconds
};
constexpr Unit k_rate_units[] = {{"bit", 1.0 / 8},         {"kbit", 1e3 / 8},  {"mbit", 1e6 / 8}, {"gbit", 1e9 / 8},
                                 {"Bps", 1.0},             {"KBps", 1e3},      {"MBps", 1e6},     {"GBps", 1e9}};
constexpr Unit k_time_units[] = {{"us", 1.0}, {"ms", 1e3}, {"s", 1e6}};

Error spec_error(std::string_view spec, std::string_view why) {
  return Error::make(Errc::bad_link_spec, fmt::format("link spec '{}': {}", spec, why));
}

}  // namespace

Expected<LinkSpec> parse_link_spec(std::string_view spec) {
  LinkSpec out;
  if (spec == "off" || spec == "none") return out;
  bool have_rate = false, have_delay = false;
  std::string_view rest = spec;
  while (!rest.empty()) {
    const auto comma = rest.find(',');
    const std::string_view part = rest.substr(0, comma);
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    if (comma != std::string_view::npos && rest.empty()) return spec_error(spec, "trailing comma");
    double value = 0;
    const auto [end, ec] = std::from_chars(part.data(), part.data() + part.size(), value);
    if (ec != std::errc() || !std::isfinite(value) || value < 0) {
      return spec_error(spec, fmt::format("'{}' does not start with a non-negative number", part));
    }
    const std::string_view unit(end, static_cast<std::size_t>(part.data() + part.size() - end));
    bool matched = false;
    for (const Unit& u : k_rate_units) {
      if (unit != u.name) continue;
      if (have_rate) return spec_error(spec, "two rates");
      if (value == 0) return spec_error(spec, "a rate of 0 would never send anything");
      out.rate_bytes_per_s = value * u.factor;
      have_rate = matched = true;
    }
    for (const Unit& u : k_time_units) {
      if (unit != u.name) continue;
      if (have_delay) return spec_error(spec, "two delays");
      out.one_way_delay = std::chrono::microseconds(static_cast<std::int64_t>(std::llround(value * u.factor)));
      have_delay = matched = true;
    }
    if (!matched) {
      return spec_error(spec, fmt::format("unknown unit '{}' (rates: bit kbit mbit gbit Bps KBps MBps GBps; "
                                          "delays: us ms s)", unit));
    }
  }
  if (!have_rate && !have_delay) return spec_error(spec, "empty");
  return out;
}

std::string to_string(const LinkSpec& spec) {
  if (spec.is_passthrough()) return "off";
  std::string out;
  if (spec.rate_bytes_per_s > 0) out = fmt::format("{:g}mbit", spec.rate_bytes_per_s * 8 / 1e6);
  if (spec.one_way_delay.count() > 0) {
    if (!out.empty()) out += ',';
    out += fmt::format("{:g}ms", static_cast<double>(spec.one_way_delay.count()) / 1e3);
  }
  return out;
}

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
  const auto added_delay = std::chrono::duration_cast<clock::duration>(2 * spec_.one_way_delay);
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

asio::awaitable<boost::system::error_code> LinkEmulator::run_delivery(asio::ip::tcp::socket& socket) {
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
    co_await asio::async_write(socket, buffers, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      delivery_error_ = ec;
      co_return ec;
    }
  }
}

}  // namespace tandem::net
