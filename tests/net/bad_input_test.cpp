// docs/design.md §6: bad input of any kind earns its connection an ERROR and a close,
// while a well-behaved client on the same server keeps being served.
#include <future>
#include <sstream>
#include <string>

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include "net/byte_io.hpp"
#include "net/client.hpp"
#include "net_test_support.hpp"

namespace tandem::net {
namespace {

using namespace std::chrono_literals;
using test::RawPeer;

constexpr std::uint32_t k_max_payload = 1024 * 1024;

class BadInput : public ::testing::Test {
 public:
  static ServerConfig config() {
    ServerConfig c;
    c.max_payload = k_max_payload;
    c.handshake_timeout = 1000ms;
    c.stall_timeout = 500ms;
    c.linger_timeout = 500ms;
    return c;
  }

 protected:
  void SetUp() override {
    ClientConfig cc;
    cc.client_name = "well-behaved";
    cc.models = {{"toy", test::k_toy_fingerprint}};
    good_ = std::make_unique<Client>(cc, test::make_key());
    const auto ack = good_->connect("127.0.0.1", fx_.server->port());
    ASSERT_TRUE(ack.ok()) << ack.error().message;
  }

  // The well-behaved client still gets answers, on its original connection.
  void expect_good_client_served() {
    ASSERT_TRUE(good_->connected());
    auto f = good_->infer(test::toy_request(64, 3.0f));
    ASSERT_EQ(f.wait_for(test::k_wait_bound), std::future_status::ready);
    const auto r = f.get();
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_EQ(to_floats(r.value().outputs[0]).front(), 3.0f);
  }

  void expect_error_and_close(RawPeer& peer, Errc code, const char* what) {
    const auto ending = peer.read_until_closed();
    ASSERT_TRUE(ending.error.has_value()) << what << ": no ERROR frame";
    EXPECT_EQ(ending.error->code, code) << what << ": " << ending.error->text;
    EXPECT_FALSE(ending.error->text.empty()) << what;
    EXPECT_TRUE(ending.closed) << what << ": connection not closed";
    expect_good_client_served();
  }

  // A handshaken raw connection.
  std::unique_ptr<RawPeer> authenticated_peer() {
    auto peer = std::make_unique<RawPeer>(fx_.server->port());
    EXPECT_TRUE(peer->handshake(test::make_key(), {{"toy", test::k_toy_fingerprint}}));
    return peer;
  }

  std::vector<std::byte> valid_infer() {
    return test::frame_bytes(encode_message(test::toy_request(100, 1.0f), 11).value());
  }

  test::ServerFixture fx_{config()};
  std::unique_ptr<Client> good_;
};

std::vector<std::byte> text_bytes(std::string_view s) {
  const auto b = std::as_bytes(std::span(s.data(), s.size()));
  return {b.begin(), b.end()};
}

TEST_F(BadInput, GarbageBeforeTheHandshake) {
  RawPeer peer(fx_.server->port());
  peer.read_challenge();
  peer.send(text_bytes("GET / HTTP/1.1\r\nHost: cloud\r\n\r\n"));
  expect_error_and_close(peer, Errc::bad_magic, "HTTP request");
}

TEST_F(BadInput, GarbageAfterTheHandshake) {
  auto peer = authenticated_peer();
  std::vector<std::byte> junk(4096);
  for (std::size_t i = 0; i < junk.size(); ++i) junk[i] = static_cast<std::byte>(i * 131 + 7);
  peer->send(junk);
  expect_error_and_close(*peer, Errc::bad_magic, "random bytes");
}

TEST_F(BadInput, TruncatedFrame) {
  auto peer = authenticated_peer();
  auto wire = valid_infer();
  wire.resize(wire.size() / 2);
  peer->send(wire);
  peer->shutdown_send();
  expect_error_and_close(*peer, Errc::truncated_frame, "half a frame then EOF");
}

TEST_F(BadInput, StalledInTheMiddleOfAFrame) {
  auto peer = authenticated_peer();
  auto wire = valid_infer();
  wire.resize(wire.size() / 2);
  peer->send(wire);  // and then nothing, connection left open
  expect_error_and_close(*peer, Errc::stalled, "half a frame then silence");
}

TEST_F(BadInput, OversizedLength) {
  auto peer = authenticated_peer();
  auto wire = valid_infer();
  for (std::size_t i = k_off_length; i < k_off_length + 4; ++i) wire[i] = std::byte{0xFF};
  peer->send(wire);
  expect_error_and_close(*peer, Errc::frame_too_large, "4 GiB length");
}

TEST_F(BadInput, OversizedHelloBeforeTheHandshake) {
  RawPeer peer(fx_.server->port());
  peer.read_challenge();
  OutgoingFrame hello(MessageType::hello, 0);
  hello.inline_bytes().resize(200 * 1024);  // over the handshake limit, under the session limit
  ASSERT_TRUE(hello.finish());
  peer.send(hello);
  expect_error_and_close(peer, Errc::frame_too_large, "200 KiB HELLO");
}

TEST_F(BadInput, WrongMagic) {
  auto peer = authenticated_peer();
  auto wire = valid_infer();
  wire[2] = std::byte{'X'};
  peer->send(wire);
  expect_error_and_close(*peer, Errc::bad_magic, "wrong magic");
}

TEST_F(BadInput, WrongFrameVersion) {
  auto peer = authenticated_peer();
  auto wire = valid_infer();
  wire[k_off_version] = std::byte{1};
  peer->send(wire);
  expect_error_and_close(*peer, Errc::unsupported_version, "frame version 1 (the INFER of a version 1 peer)");
}

TEST_F(BadInput, WrongVersionInHello) {
  RawPeer peer(fx_.server->port());
  const Challenge challenge = peer.read_challenge();
  Hello hello;
  hello.protocol_version = k_protocol_version + 1;
  hello.client_nonce = random_nonce().value();
  hello.proof = client_proof(test::make_key(), challenge.server_nonce, hello.client_nonce).value();
  peer.send(encode_message(hello).value());
  expect_error_and_close(peer, Errc::unsupported_version, "HELLO from a newer version");
}

TEST_F(BadInput, BadChecksum) {
  auto peer = authenticated_peer();
  auto wire = valid_infer();
  wire[k_header_size + 40] ^= std::byte{0x10};
  peer->send(wire);
  expect_error_and_close(*peer, Errc::bad_checksum, "flipped payload bit");
}

TEST_F(BadInput, UnknownMessageType) {
  auto peer = authenticated_peer();
  auto wire = valid_infer();
  wire[k_off_type] = std::byte{99};
  peer->send(wire);
  expect_error_and_close(*peer, Errc::unknown_message_type, "type 99");
}

TEST_F(BadInput, MalformedTensorInInfer) {
  auto peer = authenticated_peer();
  OutgoingFrame f(MessageType::infer, 12);
  ByteWriter w(f.inline_bytes());
  w.str16("toy");
  w.u32(4);  // a cut of 4 nodes
  w.u8(0x03);
  w.u32(0);
  w.u16(1);
  w.i32(3);
  w.u8(1);  // f32
  w.u8(0);  // raw
  w.u8(2);  // rank 2
  w.u8(0);
  w.i64(4);
  w.i64(4);
  w.u64(60);  // 4×4 f32 is 64 bytes
  f.pad_payload_to(8);
  f.inline_bytes().resize(f.inline_bytes().size() + 60);
  ASSERT_TRUE(f.finish());
  peer->send(f);
  expect_error_and_close(*peer, Errc::invalid_tensor, "shape/byte length mismatch");
}

TEST_F(BadInput, InferBeforeHello) {
  RawPeer peer(fx_.server->port());
  peer.read_challenge();
  peer.send(valid_infer());
  expect_error_and_close(peer, Errc::unexpected_message, "INFER instead of HELLO");
}

TEST_F(BadInput, SilentPeerTimesOutInTheHandshake) {
  RawPeer peer(fx_.server->port());
  peer.read_challenge();
  expect_error_and_close(peer, Errc::handshake_timeout, "no HELLO");
}

TEST_F(BadInput, WrongKeyRawPeer) {
  RawPeer peer(fx_.server->port());
  EXPECT_FALSE(peer.handshake(test::make_key('x'), {{"toy", test::k_toy_fingerprint}}));
  expect_error_and_close(peer, Errc::auth_failed, "wrong key");
}

TEST_F(BadInput, WrongKeyClient) {
  ClientConfig cc;
  cc.models = {{"toy", test::k_toy_fingerprint}};
  Client bad(cc, test::make_key('x'));
  const auto r = bad.connect("127.0.0.1", fx_.server->port());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, make_error_code(Errc::auth_failed)) << r.error().message;
  EXPECT_FALSE(bad.connected());
  EXPECT_EQ(bad.last_error()->code, make_error_code(Errc::auth_failed));
  expect_good_client_served();
}

TEST_F(BadInput, MismatchedFingerprintAndUnknownModel) {
  ClientConfig cc;
  cc.models = {{"toy", test::k_toy_fingerprint + 1}};
  Client mismatched(cc, test::make_key());
  const auto r = mismatched.connect("127.0.0.1", fx_.server->port());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, make_error_code(Errc::fingerprint_mismatch)) << r.error().message;
  EXPECT_NE(r.error().message.find("toy"), std::string::npos) << r.error().message;

  cc.models = {{"toy", test::k_toy_fingerprint}, {"vgg99", 1}};
  Client unknown(cc, test::make_key());
  const auto u = unknown.connect("127.0.0.1", fx_.server->port());
  ASSERT_FALSE(u.ok());
  EXPECT_EQ(u.error().code, make_error_code(Errc::unknown_model)) << u.error().message;
  EXPECT_NE(u.error().message.find("vgg99"), std::string::npos);
  expect_good_client_served();

  RawPeer peer(fx_.server->port());
  EXPECT_FALSE(peer.handshake(test::make_key(), {{"toy", 42}}));
  expect_error_and_close(peer, Errc::fingerprint_mismatch, "raw mismatched fingerprint");
}

TEST_F(BadInput, ServerSurvivesTheWholeMatrixAtOnce) {
  std::vector<std::unique_ptr<RawPeer>> peers;
  for (int i = 0; i < 8; ++i) {
    auto peer = authenticated_peer();
    auto wire = valid_infer();
    wire[k_off_version + (i % 2)] ^= std::byte{0x40};  // alternately a bad version byte
    peer->send(wire);
    peers.push_back(std::move(peer));
  }
  for (auto& p : peers) {
    const auto ending = p->read_until_closed();
    ASSERT_TRUE(ending.error);
    EXPECT_EQ(ending.error->code, Errc::unsupported_version);
    EXPECT_TRUE(ending.closed);
  }
  expect_good_client_served();
  EXPECT_GE(fx_.server->stats().sessions_rejected, 8u);
  EXPECT_TRUE(test::wait_until([&] { return fx_.server->session_count() == 1; }));  // only the good client remains
}

// Everything logged through spdlog's default logger while it lives.
class LogCapture {
 public:
  LogCapture() : previous_(spdlog::default_logger()) {
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(out_);
    sink->set_pattern("%l %v");
    spdlog::set_default_logger(std::make_shared<spdlog::logger>("capture", sink));
    spdlog::set_level(spdlog::level::info);
  }
  ~LogCapture() { spdlog::set_default_logger(previous_); }
  std::string text() {
    spdlog::default_logger()->flush();
    return out_.str();
  }

 private:
  std::ostringstream out_;
  std::shared_ptr<spdlog::logger> previous_;
};

// A peer's client name is escaped before it reaches a log line (or the ERROR text), so a
// newline in it cannot forge a second line.
TEST(BadInputLogging, ClientNameWithANewlineIsLoggedEscaped) {
  LogCapture capture;  // before the server's threads start logging
  {
    test::ServerFixture fx(BadInput::config());
    RawPeer peer(fx.server->port());
    const Challenge challenge = peer.read_challenge();
    Hello hello;
    hello.client_name = "edge\nwarn forged line\r\x1b[31m";
    hello.client_nonce = random_nonce().value();
    hello.proof = client_proof(test::make_key('x'), challenge.server_nonce, hello.client_nonce).value();  // wrong key
    hello.models = {{"toy", test::k_toy_fingerprint}};
    peer.send(encode_message(hello).value());
    const auto ending = peer.read_until_closed();
    ASSERT_TRUE(ending.error.has_value());
    EXPECT_EQ(ending.error->code, Errc::auth_failed);
    EXPECT_NE(ending.error->text.find("edge\\x0awarn forged line\\x0d\\x1b[31m"), std::string::npos) << ending.error->text;

    // After authentication too: the right key, the same kind of name.
    RawPeer good(fx.server->port());
    const Challenge c2 = good.read_challenge();
    hello.client_name = "edge\nwarn authenticated forged";
    hello.proof = client_proof(test::make_key(), c2.server_nonce, hello.client_nonce).value();
    good.send(encode_message(hello).value());
    const auto ack = good.read_frame();
    ASSERT_TRUE(ack.has_value());
    EXPECT_EQ(ack->header.type, MessageType::hello_ack);
  }
  const std::string log = capture.text();
  EXPECT_NE(log.find("client 'edge\\x0awarn authenticated forged' authenticated"), std::string::npos) << log;
  EXPECT_NE(log.find("client 'edge\\x0awarn forged line\\x0d\\x1b[31m'"), std::string::npos) << log;
  EXPECT_EQ(log.find("edge\n"), std::string::npos) << "a raw newline from the peer reached the log:\n" << log;
  EXPECT_EQ(log.find("\nwarn forged"), std::string::npos) << log;
  EXPECT_EQ(log.find('\x1b'), std::string::npos) << log;
}

}  // namespace
}  // namespace tandem::net
