#include "net_test_support.hpp"

#include <poll.h>

#include <sys/socket.h>
#include <sys/time.h>

#include <numeric>
#include <stdexcept>

#include <boost/asio/buffer.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <fmt/format.h>

#include "net/byte_io.hpp"
#include "net/parser.hpp"

namespace tandem::net::test {
namespace asio = boost::asio;

std::shared_ptr<std::vector<std::byte>> tensor_record(std::uint8_t dtype, std::uint8_t codec,
                                                      const std::vector<std::int64_t>& dims, std::uint64_t byte_length,
                                                      const std::vector<std::byte>& data) {
  auto payload = std::make_shared<std::vector<std::byte>>();
  ByteWriter w(*payload);
  w.i32(5);
  w.u8(dtype);
  w.u8(codec);
  w.u8(static_cast<std::uint8_t>(dims.size()));
  w.u8(0);
  for (auto d : dims) w.i64(d);
  w.u64(byte_length);
  w.pad_to(8);
  w.bytes(data);
  return payload;
}

std::vector<WireTensor> round_trip(const std::vector<WireTensor>& in) {
  OutgoingFrame f(MessageType::infer, 1);
  for (const auto& t : in) {
    if (auto e = encode_tensor(f, t)) throw std::runtime_error("round_trip: encode_tensor: " + e->message);
  }
  if (!f.finish()) throw std::runtime_error("round_trip: the frame is too large");
  auto payload = std::make_shared<std::vector<std::byte>>();
  const auto buffers = f.buffers();
  for (std::size_t i = 1; i < buffers.size(); ++i) {
    const auto* p = static_cast<const std::byte*>(buffers[i].data());
    payload->insert(payload->end(), p, p + buffers[i].size());
  }
  ByteReader r(*payload);
  std::vector<WireTensor> out;
  for (std::size_t i = 0; i < in.size(); ++i) {
    auto t = decode_tensor(r, payload);
    if (!t) throw std::runtime_error("round_trip: decode_tensor: " + t.error().message);
    out.push_back(std::move(t).value());
  }
  if (!r.at_end()) throw std::runtime_error("round_trip: bytes left after the last tensor");
  return out;
}

AuthKey make_key(char fill) {
  std::vector<std::uint8_t> bytes(32, static_cast<std::uint8_t>(fill));
  return AuthKey::from_bytes(bytes).value();
}

bool wait_until(const std::function<bool()>& pred, std::chrono::milliseconds bound) {
  const auto end = std::chrono::steady_clock::now() + bound;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > end) return pred();
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return true;
}

std::optional<Error> EchoHandler::check_models(const std::vector<ModelFingerprint>& models) {
  {
    std::lock_guard lock(mutex_);
    io_threads_.push_back(std::this_thread::get_id());
  }
  for (const ModelFingerprint& m : models) {
    if (m.name != "toy") return Error::make(Errc::unknown_model, fmt::format("model '{}' is not loaded here", m.name));
    if (m.fingerprint != k_toy_fingerprint) {
      return Error::make(Errc::fingerprint_mismatch, fmt::format("model 'toy': edge weights {:016x}, cloud weights {:016x}",
                                                                 m.fingerprint, k_toy_fingerprint));
    }
  }
  return std::nullopt;
}

void EchoHandler::infer(const InferContext&, InferRequest request, Responder responder) {
  std::unique_lock lock(mutex_);
  worker_threads_.push_back(std::this_thread::get_id());
  if (hold_) {
    held_.emplace_back(std::move(request), std::move(responder));
    return;
  }
  lock.unlock();
  InferResult result;
  result.outputs = std::move(request.tensors);
  responder.reply(std::move(result));
}

void EchoHandler::hold(bool on) {
  std::lock_guard lock(mutex_);
  hold_ = on;
}

std::size_t EchoHandler::held() const {
  std::lock_guard lock(mutex_);
  return held_.size();
}

void EchoHandler::release_reversed() {
  std::vector<std::pair<InferRequest, Responder>> items;
  {
    std::lock_guard lock(mutex_);
    items.swap(held_);
  }
  for (auto it = items.rbegin(); it != items.rend(); ++it) {
    InferResult result;
    result.outputs = std::move(it->first.tensors);
    it->second.reply(std::move(result));
  }
}

void EchoHandler::drop() {
  std::vector<std::pair<InferRequest, Responder>> items;
  std::lock_guard lock(mutex_);
  items.swap(held_);
}

std::vector<std::thread::id> EchoHandler::io_threads() const {
  std::lock_guard lock(mutex_);
  return io_threads_;
}

std::vector<std::thread::id> EchoHandler::worker_threads() const {
  std::lock_guard lock(mutex_);
  return worker_threads_;
}

ServerFixture::ServerFixture(ServerConfig config) {
  config.host = "127.0.0.1";
  config.port = 0;
  server = std::make_unique<Server>(config, make_key(), handler);
  const auto ec = server->start();
  if (ec) throw std::runtime_error("server start: " + ec.message());
}

RawPeer::RawPeer(std::uint16_t port) : socket_(io_) {
  socket_.connect(asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
}

std::size_t RawPeer::read_some(std::span<std::byte> into, boost::system::error_code& ec) {
  // Asio's blocking reads ignore SO_RCVTIMEO (they poll again after EAGAIN):
  // wait for readability with a bound first, then read what is there.
  constexpr int k_read_bound_ms = 10'000;
  pollfd pfd{socket_.native_handle(), POLLIN, 0};
  if (::poll(&pfd, 1, k_read_bound_ms) <= 0) {
    ec = asio::error::timed_out;
    return 0;
  }
  return socket_.read_some(asio::buffer(into.data(), into.size()), ec);
}

std::optional<Frame> RawPeer::read_frame() {
  FrameParser parser;
  for (;;) {
    if (!buffered_.empty()) {
      const auto step = parser.feed(buffered_);
      buffered_.erase(buffered_.begin(), buffered_.begin() + static_cast<std::ptrdiff_t>(step.consumed));
      if (step.status == ParseStatus::good) {
        Frame f = parser.take_frame();
        if (f.header.type == MessageType::error) {
          if (auto e = decode_error(f)) seen_error_ = e.value();
        }
        return f;
      }
      if (step.status == ParseStatus::bad) return std::nullopt;
    }
    std::array<std::byte, 8192> chunk{};
    boost::system::error_code ec;
    const std::size_t n = read_some(chunk, ec);
    if (ec) return std::nullopt;
    buffered_.insert(buffered_.end(), chunk.begin(), chunk.begin() + static_cast<std::ptrdiff_t>(n));
  }
}

Challenge RawPeer::read_challenge() {
  auto f = read_frame();
  if (!f) throw std::runtime_error("no CHALLENGE");
  return decode_challenge(*f).value();
}

bool RawPeer::handshake(const AuthKey& key, std::vector<ModelFingerprint> models) {
  const Challenge challenge = read_challenge();
  Hello hello;
  hello.client_name = "raw-peer";
  hello.client_nonce = random_nonce().value();
  hello.proof = client_proof(key, challenge.server_nonce, hello.client_nonce).value();
  hello.models = std::move(models);
  send(encode_message(hello).value());
  auto ack = read_frame();
  return ack && ack->header.type == MessageType::hello_ack;
}

void RawPeer::send(const std::vector<std::byte>& bytes) {
  boost::system::error_code ec;
  asio::write(socket_, asio::buffer(bytes), ec);
}

void RawPeer::send(const OutgoingFrame& frame) { send(frame_bytes(frame)); }

void RawPeer::shutdown_send() {
  boost::system::error_code ec;
  socket_.shutdown(asio::ip::tcp::socket::shutdown_send, ec);
}

RawPeer::Ending RawPeer::read_until_closed() {
  Ending out;
  while (read_frame()) {
  }
  out.error = seen_error_;
  // read_frame() stops at EOF or timeout: tell them apart with one more read.
  std::array<std::byte, 16> probe{};
  boost::system::error_code ec;
  read_some(probe, ec);
  out.closed = ec == asio::error::eof || ec == asio::error::connection_reset;
  return out;
}

std::vector<std::byte> frame_bytes(const OutgoingFrame& frame) {
  std::vector<std::byte> out;
  for (const auto& b : frame.buffers()) {
    const auto* p = static_cast<const std::byte*>(b.data());
    out.insert(out.end(), p, p + b.size());
  }
  return out;
}

InferRequest toy_request(std::size_t n, float first, std::uint32_t deadline_ms) {
  std::vector<float> values(n);
  std::iota(values.begin(), values.end(), first);
  InferRequest r;
  r.model = "toy";
  r.edge_nodes = {true, true, true, true, false, false};
  r.deadline_ms = deadline_ms;
  r.tensors.push_back(make_f32_tensor(3, {1, static_cast<std::int64_t>(n)}, std::move(values)));
  return r;
}

}  // namespace tandem::net::test
