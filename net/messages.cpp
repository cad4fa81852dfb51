#include "net/messages.hpp"

#include <fmt/format.h>

#include "net/byte_io.hpp"

namespace tandem::net {
namespace {

constexpr std::size_t k_min_tensor_wire_size = 16;  // node, dtype, codec, rank, reserved, byte_length
constexpr std::size_t k_min_model_entry_size = 2 + 8;

Error too_long(std::string_view what, std::size_t size, std::size_t limit) {
  return Error::make(Errc::malformed_payload, fmt::format("{} is {} bytes, the limit is {}", what, size, limit));
}

Expected<OutgoingFrame> finished(OutgoingFrame frame) {
  if (!frame.finish()) {
    return Error::make(Errc::frame_too_large, fmt::format("{} payload of {} bytes does not fit a frame",
                                                          to_string(frame.header().type), frame.payload_size()));
  }
  return frame;
}

void put_load(ByteWriter& w, const CloudLoad& l) {
  w.u32(l.queue_length);
  w.u32(l.in_service);
  w.f64(l.recent_service_ms);
}
bool get_load(ByteReader& r, CloudLoad& l) { return r.u32(l.queue_length) && r.u32(l.in_service) && r.f64(l.recent_service_ms); }

void put_timing(ByteWriter& w, const ReceiveTiming& t) {
  w.f64(t.receive_ms);
  w.u64(t.timed_bytes);
}
bool get_timing(ByteReader& r, ReceiveTiming& t) { return r.f64(t.receive_ms) && r.u64(t.timed_bytes); }

template <std::size_t N>
bool get_array(ByteReader& r, std::array<std::uint8_t, N>& a) {
  std::span<const std::byte> v;
  if (!r.view(N, v)) return false;
  for (std::size_t i = 0; i < N; ++i) a[i] = static_cast<std::uint8_t>(v[i]);
  return true;
}
template <std::size_t N>
void put_array(ByteWriter& w, const std::array<std::uint8_t, N>& a) {
  w.bytes(std::as_bytes(std::span<const std::uint8_t>(a)));
}

// A time or size that must be a finite, non-negative number to be meaningful.
bool valid_ms(double v) { return v >= 0 && v < 1e12; }

// Common prologue of every decoder: right frame type.
std::optional<Error> expect_type(const Frame& f, MessageType type) {
  if (f.header.type != type) {
    return Error::make(Errc::unexpected_message,
                       fmt::format("expected {}, got {}", to_string(type), to_string(f.header.type)));
  }
  return std::nullopt;
}

Error malformed(MessageType type, std::string_view what) {
  return Error::make(Errc::malformed_payload, fmt::format("{} payload: {}", to_string(type), what));
}

// Tensor lists share one encoding in INFER and RESULT.
std::optional<Error> put_tensors(OutgoingFrame& frame, const std::vector<WireTensor>& tensors) {
  if (tensors.size() > k_max_tensors) return too_long("tensor list", tensors.size(), k_max_tensors);
  ByteWriter(frame.inline_bytes()).u16(static_cast<std::uint16_t>(tensors.size()));
  for (const WireTensor& t : tensors) {
    if (auto e = encode_tensor(frame, t)) return e;
  }
  return std::nullopt;
}

std::optional<Error> get_tensors(ByteReader& r, const Frame& f, std::vector<WireTensor>& out) {
  std::uint16_t n = 0;
  if (!r.u16(n)) return malformed(f.header.type, "tensor count truncated");
  if (n > k_max_tensors || n > r.remaining() / k_min_tensor_wire_size) {
    return malformed(f.header.type, fmt::format("tensor count {} impossible in {} remaining bytes", n, r.remaining()));
  }
  out.reserve(n);
  std::uint64_t inflated = 0;  // bytes zstd tensors decompressed to, bounded like one tensor
  for (std::size_t i = 0; i < n; ++i) {
    auto t = decode_tensor(r, f.payload);
    if (!t) return Error{t.error().code, fmt::format("{} tensor {}: {}", to_string(f.header.type), i, t.error().message)};
    if (uses_zstd(t.value().codec)) inflated += t.value().data.size();
    if (inflated > k_max_zstd_decoded_bytes) {
      return malformed(f.header.type, fmt::format("zstd tensors decompress to more than {} bytes", k_max_zstd_decoded_bytes));
    }
    out.push_back(std::move(t).value());
  }
  return std::nullopt;
}

std::optional<Error> check_end(const ByteReader& r, MessageType type) {
  if (r.failed()) return malformed(type, "truncated");
  if (!r.at_end()) return malformed(type, fmt::format("{} trailing bytes", r.remaining()));
  return std::nullopt;
}

// Probe filler: `n` bytes referenced from one shared block, so a probe (or its ack) of any
// size costs no memory beyond its list of pieces.
void append_filler(OutgoingFrame& frame, std::uint32_t n) {
  static const std::vector<std::byte> block(64 * 1024, std::byte{0x5A});
  for (std::uint32_t left = n; left > 0;) {
    const std::size_t piece = std::min<std::size_t>(left, block.size());
    frame.append_external(std::span<const std::byte>(block).first(piece), nullptr);
    left -= static_cast<std::uint32_t>(piece);
  }
}

}  // namespace

Expected<OutgoingFrame> encode_message(const Challenge& m) {
  if (m.server_name.size() > k_max_name_length) return too_long("server name", m.server_name.size(), k_max_name_length);
  OutgoingFrame frame(MessageType::challenge, 0);
  ByteWriter w(frame.inline_bytes());
  w.u16(m.protocol_version);
  put_array(w, m.server_nonce);
  w.str16(m.server_name);
  return finished(std::move(frame));
}

Expected<OutgoingFrame> encode_message(const Hello& m) {
  if (m.client_name.size() > k_max_name_length) return too_long("client name", m.client_name.size(), k_max_name_length);
  if (m.models.size() > k_max_models) return too_long("model list", m.models.size(), k_max_models);
  OutgoingFrame frame(MessageType::hello, 0);
  ByteWriter w(frame.inline_bytes());
  w.u16(m.protocol_version);
  w.str16(m.client_name);
  put_array(w, m.client_nonce);
  put_array(w, m.proof);
  w.u16(static_cast<std::uint16_t>(m.models.size()));
  for (const ModelFingerprint& mf : m.models) {
    if (mf.name.empty() || mf.name.size() > k_max_name_length) return too_long("model name", mf.name.size(), k_max_name_length);
    w.str16(mf.name);
    w.u64(mf.fingerprint);
  }
  return finished(std::move(frame));
}

Expected<OutgoingFrame> encode_message(const HelloAck& m) {
  if (m.server_name.size() > k_max_name_length) return too_long("server name", m.server_name.size(), k_max_name_length);
  OutgoingFrame frame(MessageType::hello_ack, 0);
  ByteWriter w(frame.inline_bytes());
  w.u16(m.protocol_version);
  w.str16(m.server_name);
  put_array(w, m.server_proof);
  put_load(w, m.load);
  return finished(std::move(frame));
}

Expected<OutgoingFrame> encode_message(const InferRequest& m, std::uint64_t request_id) {
  if (m.model.empty() || m.model.size() > k_max_name_length) return too_long("model name", m.model.size(), k_max_name_length);
  if (m.edge_nodes.empty() || m.edge_nodes.size() > k_max_cut_nodes) {
    return too_long("cut (nodes)", m.edge_nodes.size(), k_max_cut_nodes);
  }
  OutgoingFrame frame(MessageType::infer, request_id);
  {
    ByteWriter w(frame.inline_bytes());
    w.str16(m.model);
    w.u32(static_cast<std::uint32_t>(m.edge_nodes.size()));
    std::vector<std::byte> bits((m.edge_nodes.size() + 7) / 8, std::byte{0});
    for (std::size_t i = 0; i < m.edge_nodes.size(); ++i) {
      if (m.edge_nodes[i]) bits[i / 8] |= std::byte{static_cast<unsigned char>(1u << (i % 8))};
    }
    w.bytes(bits);
    w.u32(m.deadline_ms);
  }
  if (auto e = put_tensors(frame, m.tensors)) return std::move(*e);
  return finished(std::move(frame));
}

Expected<OutgoingFrame> encode_message(const InferResult& m, std::uint64_t request_id) {
  OutgoingFrame frame(MessageType::result, request_id);
  {
    ByteWriter w(frame.inline_bytes());
    w.f64(m.compute_ms);
    w.f64(m.queue_wait_ms);
    put_timing(w, m.receive);
    put_load(w, m.load);
  }
  if (auto e = put_tensors(frame, m.outputs)) return std::move(*e);
  return finished(std::move(frame));
}

Expected<OutgoingFrame> encode_message(const ErrorMessage& m, std::uint64_t request_id, bool closing) {
  OutgoingFrame frame(MessageType::error, request_id, closing ? frame_flags::closing : 0);
  ByteWriter w(frame.inline_bytes());
  w.u16(static_cast<std::uint16_t>(m.code));
  w.str16(std::string_view(m.text).substr(0, k_max_error_text));
  return finished(std::move(frame));
}

Expected<OutgoingFrame> encode_message(const Probe& m, std::uint64_t request_id) {
  OutgoingFrame frame(MessageType::probe, request_id);
  ByteWriter w(frame.inline_bytes());
  w.u32(m.reply_bytes);
  w.u32(m.filler_bytes);
  append_filler(frame, m.filler_bytes);
  return finished(std::move(frame));
}

Expected<OutgoingFrame> encode_message(const ProbeAck& m, std::uint64_t request_id) {
  OutgoingFrame frame(MessageType::probe_ack, request_id);
  ByteWriter w(frame.inline_bytes());
  w.u32(m.probe_payload_bytes);
  put_timing(w, m.receive);
  w.u32(m.filler_bytes);
  append_filler(frame, m.filler_bytes);
  return finished(std::move(frame));
}

Expected<OutgoingFrame> encode_status_request(std::uint64_t request_id) {
  return finished(OutgoingFrame(MessageType::status_request, request_id));
}

Expected<OutgoingFrame> encode_message(const Status& m, std::uint64_t request_id) {
  OutgoingFrame frame(MessageType::status, request_id);
  ByteWriter w(frame.inline_bytes());
  put_load(w, m.load);
  return finished(std::move(frame));
}

Expected<Challenge> decode_challenge(const Frame& f) {
  if (auto e = expect_type(f, MessageType::challenge)) return std::move(*e);
  ByteReader r(f.bytes());
  Challenge m;
  if (!r.u16(m.protocol_version) || !get_array(r, m.server_nonce) || !r.str16(m.server_name, k_max_name_length)) {
    return malformed(f.header.type, "truncated or over-long field");
  }
  if (auto e = check_end(r, f.header.type)) return std::move(*e);
  return m;
}

Expected<Hello> decode_hello(const Frame& f) {
  if (auto e = expect_type(f, MessageType::hello)) return std::move(*e);
  ByteReader r(f.bytes());
  Hello m;
  std::uint16_t n = 0;
  if (!r.u16(m.protocol_version) || !r.str16(m.client_name, k_max_name_length) || !get_array(r, m.client_nonce) ||
      !get_array(r, m.proof) || !r.u16(n)) {
    return malformed(f.header.type, "truncated or over-long field");
  }
  if (n > k_max_models || n > r.remaining() / k_min_model_entry_size) {
    return malformed(f.header.type, fmt::format("model count {} impossible in {} remaining bytes", n, r.remaining()));
  }
  m.models.resize(n);
  for (ModelFingerprint& mf : m.models) {
    if (!r.str16(mf.name, k_max_name_length) || !r.u64(mf.fingerprint)) return malformed(f.header.type, "model list truncated");
    if (mf.name.empty()) return malformed(f.header.type, "empty model name");
  }
  if (auto e = check_end(r, f.header.type)) return std::move(*e);
  return m;
}

Expected<HelloAck> decode_hello_ack(const Frame& f) {
  if (auto e = expect_type(f, MessageType::hello_ack)) return std::move(*e);
  ByteReader r(f.bytes());
  HelloAck m;
  if (!r.u16(m.protocol_version) || !r.str16(m.server_name, k_max_name_length) || !get_array(r, m.server_proof) ||
      !get_load(r, m.load)) {
    return malformed(f.header.type, "truncated or over-long field");
  }
  if (auto e = check_end(r, f.header.type)) return std::move(*e);
  return m;
}

Expected<InferRequest> decode_infer(const Frame& f) {
  if (auto e = expect_type(f, MessageType::infer)) return std::move(*e);
  ByteReader r(f.bytes());
  InferRequest m;
  std::uint32_t nodes = 0;
  if (!r.str16(m.model, k_max_name_length) || !r.u32(nodes)) return malformed(f.header.type, "truncated or over-long field");
  if (nodes == 0 || nodes > k_max_cut_nodes) return malformed(f.header.type, "cut node count out of range");
  std::span<const std::byte> bits;
  if (!r.view((nodes + 7) / 8, bits) || !r.u32(m.deadline_ms)) return malformed(f.header.type, "truncated cut");
  m.edge_nodes.resize(nodes);
  for (std::uint32_t i = 0; i < nodes; ++i) {
    m.edge_nodes[i] = (std::to_integer<unsigned>(bits[i / 8]) >> (i % 8)) & 1u;
  }
  if (nodes % 8 != 0 && (std::to_integer<unsigned>(bits.back()) >> (nodes % 8)) != 0) {
    return malformed(f.header.type, "cut has bits past its node count");
  }
  if (m.model.empty()) return malformed(f.header.type, "empty model name");
  if (auto e = get_tensors(r, f, m.tensors)) return std::move(*e);
  if (auto e = check_end(r, f.header.type)) return std::move(*e);
  return m;
}

Expected<InferResult> decode_result(const Frame& f) {
  if (auto e = expect_type(f, MessageType::result)) return std::move(*e);
  ByteReader r(f.bytes());
  InferResult m;
  if (!r.f64(m.compute_ms) || !r.f64(m.queue_wait_ms) || !get_timing(r, m.receive) || !get_load(r, m.load)) {
    return malformed(f.header.type, "truncated");
  }
  if (!valid_ms(m.compute_ms) || !valid_ms(m.queue_wait_ms) || !valid_ms(m.receive.receive_ms) ||
      !valid_ms(m.load.recent_service_ms)) {
    return malformed(f.header.type, "negative or non-finite time");
  }
  if (auto e = get_tensors(r, f, m.outputs)) return std::move(*e);
  if (auto e = check_end(r, f.header.type)) return std::move(*e);
  return m;
}

Expected<ErrorMessage> decode_error(const Frame& f) {
  if (auto e = expect_type(f, MessageType::error)) return std::move(*e);
  ByteReader r(f.bytes());
  std::uint16_t code = 0;
  ErrorMessage m;
  if (!r.u16(code) || !r.str16(m.text, k_max_error_text)) return malformed(f.header.type, "truncated or over-long text");
  if (auto e = check_end(r, f.header.type)) return std::move(*e);
  if (is_wire_errc(code)) {
    m.code = static_cast<Errc>(code);
  } else {  // a newer peer's code: keep the text, say which code it was
    m.code = Errc::remote_error;
    m.text = fmt::format("error code {}: {}", code, m.text);
  }
  return m;
}

Expected<Probe> decode_probe(const Frame& f) {
  if (auto e = expect_type(f, MessageType::probe)) return std::move(*e);
  ByteReader r(f.bytes());
  Probe m;
  if (!r.u32(m.reply_bytes) || !r.u32(m.filler_bytes)) return malformed(f.header.type, "truncated");
  if (m.filler_bytes != r.remaining()) {
    return malformed(f.header.type, fmt::format("{} filler bytes announced, {} present", m.filler_bytes, r.remaining()));
  }
  return m;
}

Expected<ProbeAck> decode_probe_ack(const Frame& f) {
  if (auto e = expect_type(f, MessageType::probe_ack)) return std::move(*e);
  ByteReader r(f.bytes());
  ProbeAck m;
  if (!r.u32(m.probe_payload_bytes) || !get_timing(r, m.receive) || !r.u32(m.filler_bytes)) {
    return malformed(f.header.type, "truncated");
  }
  if (!valid_ms(m.receive.receive_ms)) return malformed(f.header.type, "negative or non-finite time");
  if (m.filler_bytes != r.remaining()) {
    return malformed(f.header.type, fmt::format("{} filler bytes announced, {} present", m.filler_bytes, r.remaining()));
  }
  return m;
}

Expected<Status> decode_status(const Frame& f) {
  if (auto e = expect_type(f, MessageType::status)) return std::move(*e);
  ByteReader r(f.bytes());
  Status m;
  if (!get_load(r, m.load)) return malformed(f.header.type, "truncated");
  if (!valid_ms(m.load.recent_service_ms)) return malformed(f.header.type, "negative or non-finite time");
  if (auto e = check_end(r, f.header.type)) return std::move(*e);
  return m;
}

}  // namespace tandem::net
