// net::FrameParser on a byte stream fed in chunks of fuzzer-chosen sizes,
// alternating feed() with the receive-into-payload path (payload_window /
// commit_payload) the server uses. Properties: no step consumes more than it
// was given; the frames and the final state do not depend on how the stream
// was chunked (compared with one feed of the whole stream); a bad parser
// names its error and stays bad. A third pass charges payloads to a small
// ByteAccount (as the server does): it never holds more than its limit, a
// frame it keeps has the same header and payload as without the account, a
// frame it drops keeps its header, and every byte is returned at the end.
//
// Input: byte 0 seeds the chunk sizes, byte 1 picks the largest chunk, the
// rest is the stream.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <span>
#include <vector>

#include "fuzz/fuzz_support.hpp"
#include "net/byte_budget.hpp"
#include "net/parser.hpp"

namespace {

using tandem::fuzz::require;
using namespace tandem::net;

// Small enough that a length field can exceed it, large enough for real frames.
constexpr std::uint32_t k_max_payload = 1u << 20;

struct Outcome {
  std::vector<FrameHeader> headers;
  std::vector<std::vector<std::byte>> payloads;
  std::vector<bool> dropped;
  ParseStatus last = ParseStatus::need_more;
  boost::system::error_code error;
};

// Chunk sizes from a tiny xorshift stream: deterministic for one input.
class Chunker {
 public:
  Chunker(std::uint8_t seed, std::uint8_t max) : state_(seed | 0x100u), max_(std::max<std::size_t>(max, 1)) {}
  std::size_t next() {
    state_ ^= state_ << 13;
    state_ ^= state_ >> 17;
    state_ ^= state_ << 5;
    return 1 + state_ % max_;
  }
  bool coin() { return (next() & 1u) != 0; }

 private:
  std::uint32_t state_;
  std::size_t max_;
};

void record(FrameParser& parser, Outcome& out, bool dropped = false) {
  Frame f = parser.take_frame();
  if (dropped) {
    require(f.bytes().empty(), "a dropped frame has no payload");
  } else {
    require(f.header.payload_length == f.bytes().size(), "frame length matches its payload");
  }
  out.headers.push_back(f.header);
  out.payloads.emplace_back(f.bytes().begin(), f.bytes().end());
  out.dropped.push_back(dropped);
}

void finish(const FrameParser& parser, Outcome& out) {
  if (out.last == ParseStatus::bad) {
    require(static_cast<bool>(parser.error().code), "a bad parse has an error code");
    require(!parser.error().message.empty(), "a bad parse has a message");
    out.error = parser.error().code;
  }
}

Outcome parse_whole(std::span<const std::byte> stream) {
  FrameParser parser(k_max_payload);
  Outcome out;
  std::size_t pos = 0;
  while (pos < stream.size()) {
    const ParseStep step = parser.feed(stream.subspan(pos));
    require(step.consumed <= stream.size() - pos, "feed consumed no more than it was given");
    pos += step.consumed;
    out.last = step.status;
    if (step.status == ParseStatus::bad) break;
    if (step.status == ParseStatus::good) record(parser, out);
  }
  finish(parser, out);
  return out;
}

Outcome parse_chunked(std::span<const std::byte> stream, Chunker& chunker,
                      const std::shared_ptr<ByteAccount>& account = nullptr) {
  FrameParser parser(k_max_payload);
  parser.set_account(account);
  Outcome out;
  std::size_t pos = 0;
  while (pos < stream.size()) {
    const std::size_t n = std::min(chunker.next(), stream.size() - pos);
    ParseStep step;
    const std::span<std::byte> window = parser.payload_window();
    if (!window.empty() && chunker.coin()) {
      // The server's path: receive straight into the payload buffer.
      const std::size_t m = std::min(n, window.size());
      std::memcpy(window.data(), stream.data() + pos, m);
      step = parser.commit_payload(m);
      require(step.consumed == m, "commit_payload reports what was committed");
    } else {
      step = parser.feed(stream.subspan(pos, n));
      require(step.consumed <= n, "feed consumed no more than it was given");
      require(step.consumed > 0 || step.status == ParseStatus::bad, "feed makes progress");
    }
    if (account) require(account->used() <= account->limit(), "the account never holds more than its limit");
    require(account || step.status != ParseStatus::dropped, "nothing is dropped without an account");
    pos += step.consumed;
    out.last = step.status;
    if (step.status == ParseStatus::dropped) {
      record(parser, out, true);
      continue;
    }
    if (step.status == ParseStatus::bad) {
      const ParseStep again = parser.feed(stream.subspan(pos));
      require(again.status == ParseStatus::bad && again.consumed == 0, "a bad parser stays bad");
      break;
    }
    if (step.status == ParseStatus::good) {
      require(parser.feed(stream.subspan(pos)).consumed == 0, "a complete frame takes no more bytes");
      record(parser, out);
    }
  }
  finish(parser, out);
  return out;
}

bool same_header(const FrameHeader& a, const FrameHeader& b) {
  return a.version == b.version && a.type == b.type && a.flags == b.flags && a.request_id == b.request_id &&
         a.payload_length == b.payload_length && a.payload_crc == b.payload_crc;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  Chunker chunker(data[0], data[1]);
  const auto stream = std::as_bytes(std::span(data + 2, size - 2));
  const Outcome whole = parse_whole(stream);
  const Outcome chunked = parse_chunked(stream, chunker);
  require(whole.headers.size() == chunked.headers.size(), "same number of frames however the stream is chunked");
  for (std::size_t i = 0; i < whole.headers.size(); ++i) {
    require(same_header(whole.headers[i], chunked.headers[i]), "same headers however the stream is chunked");
    require(whole.payloads[i] == chunked.payloads[i], "same payloads however the stream is chunked");
  }
  require(whole.last == chunked.last, "same final state however the stream is chunked");
  require(whole.error == chunked.error, "same error however the stream is chunked");

  // Budgeted: a dropped frame's CRC is never checked, so the stream may go on past where the
  // whole parse failed; up to there, frames agree.
  auto account = std::make_shared<ByteAccount>(nullptr, 256 * (1 + std::size_t{data[1]}));
  {
    Chunker again(data[0], data[1]);
    const Outcome budgeted = parse_chunked(stream, again, account);
    const std::size_t n = std::min(whole.headers.size(), budgeted.headers.size());
    for (std::size_t i = 0; i < n; ++i) {
      require(same_header(whole.headers[i], budgeted.headers[i]), "same headers with a byte budget");
      require(budgeted.dropped[i] || whole.payloads[i] == budgeted.payloads[i], "same payloads with a byte budget");
    }
  }
  require(account->used() == 0, "every charged byte is returned");
  return 0;
}
