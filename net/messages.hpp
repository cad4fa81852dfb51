#pragma once
// Payloads of the protocol's messages (docs/design.md §5), little-endian, with their
// encoders and validating decoders. Strings are u16 length + bytes; lists are
// u16 count + items; doubles are IEEE binary64.
//
// Handshake (three frames, the server speaks first):
//
//   client                                   server
//     ── TCP connect ───────────────────────────►
//     ◄─────────── CHALLENGE {version, server_nonce[32], server_name}
//     HELLO {version, client_name, client_nonce[32],
//            proof = HMAC-SHA256(key, "tandem/1 client" ‖ server_nonce ‖ client_nonce),
//            models [(name, fingerprint u64)]} ─────►
//     ◄─────────── HELLO_ACK {version, server_name,
//                             server_proof = HMAC-SHA256(key, "tandem/1 server" ‖ server_nonce ‖ client_nonce),
//                             cloud load}
//              or ERROR {code, text} with the closing flag, then close.
//
// The server checks, in order: version, proof, then every model through the
// user's callback (unknown model / fingerprint mismatch). The client checks
// the server proof, so neither side talks to a peer without the key. The
// distinct labels stop a proof being reflected back as the other side's.
//
// Payloads:
//   CHALLENGE      u16 version, 32 B nonce, str server_name
//   HELLO          u16 version, str client_name, 32 B client_nonce, 32 B proof,
//                  u16 n, n × (str model, u64 fingerprint)
//   HELLO_ACK      u16 version, str server_name, 32 B server_proof, load
//   INFER          str model, cut, u32 deadline_ms (0 = none), u16 n, n × tensor
//                  cut = u32 node_count, ceil(node_count / 8) bytes: bit i (byte i/8,
//                  least significant bit first) set when node i runs on the edge;
//                  bits past node_count are zero. Any closed cut of a graph of up to
//                  k_max_cut_nodes nodes fits (a cut used to be text capped at 256 bytes).
//   RESULT         f64 compute_ms, f64 queue_wait_ms, timing, load, u16 n, n × tensor
//   ERROR          u16 code (Errc), str text
//   PROBE          u32 reply_bytes, u32 n, n filler bytes
//   PROBE_ACK      u32 probe_payload_bytes, timing, u32 n, n filler bytes
//   STATUS_REQUEST (empty)
//   STATUS         load
//   load   = u32 queue_length, u32 in_service, f64 recent_service_ms
//   timing = f64 receive_ms, u64 timed_bytes  (receive_ms: first to last byte of the
//            request frame as seen by the receiver; timed_bytes: the bytes that arrived
//            after the first read, i.e. the ones that receive_ms covers)

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "net/errors.hpp"
#include "net/frame.hpp"
#include "net/tensor_codec.hpp"

namespace tandem::net {

inline constexpr std::size_t k_nonce_size = 32;
inline constexpr std::size_t k_max_name_length = 256;
inline constexpr std::size_t k_max_error_text = 4096;
inline constexpr std::size_t k_max_models = 1024;
inline constexpr std::size_t k_max_tensors = 4096;
inline constexpr std::uint32_t k_max_cut_nodes = 1u << 20;

using Nonce = std::array<std::uint8_t, k_nonce_size>;
using Proof = std::array<std::uint8_t, 32>;

struct ModelFingerprint {
  std::string name;
  std::uint64_t fingerprint = 0;
  friend bool operator==(const ModelFingerprint&, const ModelFingerprint&) = default;
};

struct CloudLoad {
  std::uint32_t queue_length = 0;  // requests waiting for a worker
  std::uint32_t in_service = 0;    // requests being computed
  double recent_service_ms = 0;    // moving average of compute time
  friend bool operator==(const CloudLoad&, const CloudLoad&) = default;
};

struct ReceiveTiming {
  double receive_ms = 0;
  std::uint64_t timed_bytes = 0;
  friend bool operator==(const ReceiveTiming&, const ReceiveTiming&) = default;
};

struct Challenge {
  std::uint16_t protocol_version = k_protocol_version;
  Nonce server_nonce{};
  std::string server_name;
};

struct Hello {
  std::uint16_t protocol_version = k_protocol_version;
  std::string client_name;
  Nonce client_nonce{};
  Proof proof{};
  std::vector<ModelFingerprint> models;
};

struct HelloAck {
  std::uint16_t protocol_version = k_protocol_version;
  std::string server_name;
  Proof server_proof{};
  CloudLoad load;
};

struct InferRequest {
  std::string model;
  std::vector<bool> edge_nodes;   // the cut: true for each node run on the edge
  std::uint32_t deadline_ms = 0;  // budget from sending; 0 = none
  std::vector<WireTensor> tensors;  // crossing tensors, tagged with their producer node
};

struct InferResult {
  std::vector<WireTensor> outputs;  // tagged with their node
  double compute_ms = 0;
  double queue_wait_ms = 0;
  ReceiveTiming receive;
  CloudLoad load;
};

struct ErrorMessage {
  Errc code = Errc::internal_error;
  std::string text;
};

struct Probe {
  std::uint32_t reply_bytes = 0;   // filler the ack should carry back
  std::uint32_t filler_bytes = 0;  // filler in this probe
};

struct ProbeAck {
  std::uint32_t probe_payload_bytes = 0;
  ReceiveTiming receive;
  std::uint32_t filler_bytes = 0;
};

struct Status {
  CloudLoad load;
};

/// Encoders: a finished frame ready to gather-write, or an Error (malformed_payload /
/// invalid_tensor) when a field is over its limit or a tensor is inconsistent. Throw only bad_alloc.
Expected<OutgoingFrame> encode_message(const Challenge& m);
Expected<OutgoingFrame> encode_message(const Hello& m);
Expected<OutgoingFrame> encode_message(const HelloAck& m);
Expected<OutgoingFrame> encode_message(const InferRequest& m, std::uint64_t request_id);
Expected<OutgoingFrame> encode_message(const InferResult& m, std::uint64_t request_id);
/// ERROR; `closing` sets the flag saying the sender closes after it. The text is cut to the limit.
Expected<OutgoingFrame> encode_message(const ErrorMessage& m, std::uint64_t request_id, bool closing);
Expected<OutgoingFrame> encode_message(const Probe& m, std::uint64_t request_id);
Expected<OutgoingFrame> encode_message(const ProbeAck& m, std::uint64_t request_id);
/// STATUS_REQUEST (empty payload).
Expected<OutgoingFrame> encode_status_request(std::uint64_t request_id);
Expected<OutgoingFrame> encode_message(const Status& m, std::uint64_t request_id);

/// Decoders: validate the frame type, every length, count, rank, shape and dtype before
/// allocating, and reject trailing bytes. Return malformed_payload / invalid_tensor /
/// unexpected_message errors; never throw except bad_alloc.
Expected<Challenge> decode_challenge(const Frame& f);
Expected<Hello> decode_hello(const Frame& f);
Expected<HelloAck> decode_hello_ack(const Frame& f);
Expected<InferRequest> decode_infer(const Frame& f);
Expected<InferResult> decode_result(const Frame& f);
Expected<ErrorMessage> decode_error(const Frame& f);
Expected<Probe> decode_probe(const Frame& f);
Expected<ProbeAck> decode_probe_ack(const Frame& f);
Expected<Status> decode_status(const Frame& f);

}  // namespace tandem::net
