// Every message decoder of net/messages.hpp on arbitrary payloads. Byte 0
// picks the message type (and so the decoder), the rest is the payload.
// Properties: decoders report errors, never throw (bad_alloc aside); whatever
// one accepts re-encodes, and the re-encoded frame decodes again.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "fuzz/fuzz_support.hpp"
#include "net/messages.hpp"

namespace {

using tandem::fuzz::require;
using namespace tandem::net;

// The payload of a finished outgoing frame, as a receiver would get it.
Frame received(const OutgoingFrame& out) {
  std::vector<std::byte> payload;
  bool header = true;
  for (const auto& b : out.buffers()) {
    if (header) {  // the first buffer is the 24-byte header
      header = false;
      continue;
    }
    const auto* p = static_cast<const std::byte*>(b.data());
    payload.insert(payload.end(), p, p + b.size());
  }
  require(payload.size() == out.header().payload_length, "frame length matches its buffers");
  return Frame{out.header(), PayloadBuffer::copy_of(payload)};
}

// Decodes f with `decode`; when it succeeds, encodes the message and decodes that again.
template <class Decode, class Encode>
void round_trip(const Frame& f, Decode decode, Encode encode) {
  auto m = decode(f);
  if (!m) {
    require(static_cast<bool>(m.error().code), "a refused payload has an error code");
    return;
  }
  auto encoded = encode(m.value());
  require(encoded.ok(), "a decoded message encodes");
  const Frame again = received(encoded.value());
  require(again.header.type == f.header.type, "the re-encoded frame keeps its type");
  require(decode(again).ok(), "a re-encoded message decodes");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const auto type = static_cast<MessageType>(1 + data[0] % k_max_message_type);
  Frame f;
  f.header.type = type;
  f.header.request_id = 7;
  f.header.payload_length = static_cast<std::uint32_t>(size - 1);
  if (size > 1) {
    f.payload = PayloadBuffer::copy_of({reinterpret_cast<const std::byte*>(data + 1), size - 1});
  }
  switch (type) {
    case MessageType::challenge:
      round_trip(f, decode_challenge, [](const Challenge& m) { return encode_message(m); });
      break;
    case MessageType::hello:
      round_trip(f, decode_hello, [](const Hello& m) { return encode_message(m); });
      break;
    case MessageType::hello_ack:
      round_trip(f, decode_hello_ack, [](const HelloAck& m) { return encode_message(m); });
      break;
    case MessageType::infer:
      round_trip(f, decode_infer, [](const InferRequest& m) { return encode_message(m, 7); });
      break;
    case MessageType::result:
      round_trip(f, decode_result, [](const InferResult& m) { return encode_message(m, 7); });
      break;
    case MessageType::error:
      round_trip(f, decode_error, [](const ErrorMessage& m) { return encode_message(m, 7, false); });
      break;
    case MessageType::probe:
      round_trip(f, decode_probe, [](const Probe& m) { return encode_message(m, 7); });
      break;
    case MessageType::probe_ack:
      round_trip(f, decode_probe_ack, [](const ProbeAck& m) { return encode_message(m, 7); });
      break;
    case MessageType::status_request:
      // No decoder: an empty payload is the whole message. Check the other decoders refuse its type.
      require(!decode_status(f).ok() && !decode_infer(f).ok(), "a decoder refuses another message type");
      break;
    case MessageType::status:
      round_trip(f, decode_status, [](const Status& m) { return encode_message(m, 7); });
      break;
  }
  return 0;
}
