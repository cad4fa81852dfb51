// docs/design.md §6, net/server.hpp: what peers can make the server hold is
// bounded — connections, requests in flight, bytes held per connection and in
// total, PROBE reply sizes, replies nobody reads. Each check reads the
// server's own counters (ServerStats), never memory or timing.
#include <sys/socket.h>

#include <future>
#include <string>

#include <gtest/gtest.h>

#include "net/client.hpp"
#include "net_test_support.hpp"

namespace tandem::net {
namespace {

using namespace std::chrono_literals;
using test::RawPeer;

constexpr std::size_t k_mib = std::size_t{1} << 20;

ServerConfig quick_config() {
  ServerConfig c;
  c.handshake_timeout = 2000ms;
  c.stall_timeout = 1000ms;
  c.linger_timeout = 500ms;
  return c;
}

std::unique_ptr<RawPeer> authenticated_peer(std::uint16_t port) {
  auto peer = std::make_unique<RawPeer>(port);
  EXPECT_TRUE(peer->handshake(test::make_key(), {{"toy", test::k_toy_fingerprint}}));
  return peer;
}

std::unique_ptr<Client> good_client(std::uint16_t port) {
  ClientConfig cc;
  cc.models = {{"toy", test::k_toy_fingerprint}};
  auto client = std::make_unique<Client>(cc, test::make_key());
  const auto ack = client->connect("127.0.0.1", port);
  EXPECT_TRUE(ack.ok()) << ack.error().message;
  return client;
}

void expect_served(Client& client, float first = 3.0f) {
  auto f = client.infer(test::toy_request(64, first));
  ASSERT_EQ(f.wait_for(test::k_wait_bound), std::future_status::ready);
  const auto r = f.get();
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(to_floats(r.value().outputs[0]).front(), first);
}

// An INFER header announcing `length` bytes, followed by `sent` bytes of its payload.
std::vector<std::byte> infer_prefix(std::uint64_t request_id, std::uint32_t length, std::size_t sent) {
  OutgoingFrame f(MessageType::infer, request_id);
  f.inline_bytes().resize(8);
  EXPECT_TRUE(f.finish());
  auto wire = test::frame_bytes(f);
  wire.resize(k_header_size);
  for (std::size_t i = 0; i < 4; ++i) wire[k_off_length + i] = static_cast<std::byte>((length >> (8 * i)) & 0xFFu);
  wire.resize(k_header_size + sent, std::byte{0x11});
  return wire;
}

TEST(ServerLimits, HugeInferHeadersReserveNothingUntilTheirBytesArrive) {
  test::ServerFixture fx(quick_config());  // max_payload 256 MiB
  auto a = authenticated_peer(fx.server->port());
  auto b = authenticated_peer(fx.server->port());
  a->send(infer_prefix(1, k_default_max_payload, 1000));
  b->send(infer_prefix(2, k_default_max_payload, 1000));
  // Both are being read: each holds its first payload step.
  ASSERT_TRUE(test::wait_until([&] { return fx.server->stats().held_bytes >= 2 * 1000; }));
  const ServerStats s = fx.server->stats();
  EXPECT_LT(s.held_bytes_peak, 1 * k_mib) << "two headers announcing 256 MiB each reserved "
                                          << s.held_bytes_peak << " bytes";
  a.reset();
  b.reset();
  EXPECT_TRUE(test::wait_until([&] { return fx.server->stats().held_bytes == 0; })) << "charges are released";
}

TEST(ServerLimits, ProbeRepliesAreCappedAndCountedAgainstTheBudget) {
  ServerConfig c = quick_config();
  c.stall_timeout = 30s;  // the peer below reads nothing: keep it connected while we count
  c.max_probe_reply = 256 * k_mib - 64;
  c.max_connection_bytes = 256 * k_mib;
  c.max_total_bytes = 256 * k_mib;
  test::ServerFixture fx(c);
  auto peer = authenticated_peer(fx.server->port());
  constexpr std::uint32_t k_reply = 200'000'000;
  for (std::uint64_t rid = 1; rid <= 4; ++rid) peer->send(encode_message(Probe{k_reply, 0}, rid).value());
  // One reply fits; the other three are answered ERROR overloaded.
  ASSERT_TRUE(test::wait_until([&] { return fx.server->stats().requests_refused >= 3; }))
      << fx.server->stats().requests_refused;
  const ServerStats s = fx.server->stats();
  EXPECT_EQ(s.requests_refused, 3u);
  EXPECT_LE(s.held_bytes_peak, c.max_total_bytes + 64 * 1024) << "four 200 MB probe replies were all held";
  EXPECT_GE(s.held_bytes_peak, std::size_t{k_reply});
  peer.reset();
  ASSERT_TRUE(test::wait_until([&] { return fx.server->stats().held_bytes == 0; })) << "charges are released";
  auto client = good_client(fx.server->port());
  expect_served(*client);
}

TEST(ServerLimits, ProbeAskingPastTheCapIsRefused) {
  test::ServerFixture fx(quick_config());  // max_probe_reply 16 MiB
  auto peer = authenticated_peer(fx.server->port());
  peer->send(encode_message(Probe{200'000'000, 0}, 9).value());
  const auto ending = peer->read_until_closed();
  ASSERT_TRUE(ending.error.has_value());
  EXPECT_EQ(ending.error->code, Errc::malformed_payload);
  EXPECT_NE(ending.error->text.find(std::to_string(16 * k_mib)), std::string::npos) << ending.error->text;
  EXPECT_TRUE(ending.closed);
  EXPECT_EQ(fx.server->stats().held_bytes_peak < 1 * k_mib, true);
}

TEST(ServerLimits, InferOverTheConnectionBudgetIsDroppedAndAnsweredOverloaded) {
  ServerConfig c = quick_config();
  c.max_connection_bytes = 1 * k_mib;
  test::ServerFixture fx(c);
  fx.handler->hold(true);  // held requests keep their payloads (and charges)
  ClientConfig cc;
  cc.models = {{"toy", test::k_toy_fingerprint}};
  Client client(cc, test::make_key());
  ASSERT_TRUE(client.connect("127.0.0.1", fx.server->port()).ok());
  auto first = client.infer(test::toy_request(150'000, 1.0f));  // 600 KB: fits
  ASSERT_TRUE(test::wait_until([&] { return fx.handler->held() == 1; }));
  auto second = client.infer(test::toy_request(150'000, 2.0f));  // another 600 KB: does not
  ASSERT_EQ(second.wait_for(test::k_wait_bound), std::future_status::ready);
  const auto refused = second.get();
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, make_error_code(Errc::overloaded)) << refused.error().message;
  EXPECT_NE(refused.error().message.find("does not fit"), std::string::npos) << refused.error().message;
  EXPECT_EQ(fx.server->stats().frames_dropped, 1u);
  EXPECT_LE(fx.server->stats().held_bytes_peak, c.max_connection_bytes + 64 * 1024);
  // The connection is still good: the held request completes, a new one is served.
  fx.handler->hold(false);
  fx.handler->release_reversed();
  ASSERT_EQ(first.wait_for(test::k_wait_bound), std::future_status::ready);
  EXPECT_TRUE(first.get().ok());
  ASSERT_TRUE(client.connected());
  expect_served(client);
}

TEST(ServerLimits, InFlightCapsAnswerOverloadedPerConnectionAndInTotal) {
  ServerConfig c = quick_config();
  c.max_in_flight_per_connection = 2;
  c.max_in_flight_total = 3;
  test::ServerFixture fx(c);
  fx.handler->hold(true);
  auto a = good_client(fx.server->port());
  auto b = good_client(fx.server->port());
  std::vector<std::future<Expected<InferResult>>> accepted;
  accepted.push_back(a->infer(test::toy_request(8, 1.0f)));
  accepted.push_back(a->infer(test::toy_request(8, 2.0f)));
  ASSERT_TRUE(test::wait_until([&] { return fx.handler->held() == 2; }));
  auto third_on_a = a->infer(test::toy_request(8, 3.0f));
  ASSERT_EQ(third_on_a.wait_for(test::k_wait_bound), std::future_status::ready);
  const auto per_connection = third_on_a.get();
  ASSERT_FALSE(per_connection.ok());
  EXPECT_EQ(per_connection.error().code, make_error_code(Errc::overloaded)) << per_connection.error().message;
  EXPECT_NE(per_connection.error().message.find("on this connection"), std::string::npos);

  accepted.push_back(b->infer(test::toy_request(8, 4.0f)));
  ASSERT_TRUE(test::wait_until([&] { return fx.handler->held() == 3; }));
  auto second_on_b = b->infer(test::toy_request(8, 5.0f));
  ASSERT_EQ(second_on_b.wait_for(test::k_wait_bound), std::future_status::ready);
  const auto total = second_on_b.get();
  ASSERT_FALSE(total.ok());
  EXPECT_EQ(total.error().code, make_error_code(Errc::overloaded)) << total.error().message;
  EXPECT_NE(total.error().message.find("the server has 3 requests in flight"), std::string::npos)
      << total.error().message;
  EXPECT_EQ(fx.server->stats().requests_refused, 2u);

  fx.handler->hold(false);
  fx.handler->release_reversed();
  for (auto& f : accepted) {
    ASSERT_EQ(f.wait_for(test::k_wait_bound), std::future_status::ready);
    EXPECT_TRUE(f.get().ok());
  }
  expect_served(*a);
  expect_served(*b);
}

TEST(ServerLimits, ConnectionsPastTheCapGetOverloadedAndAreClosed) {
  ServerConfig c = quick_config();
  c.max_connections = 2;
  test::ServerFixture fx(c);
  auto client = good_client(fx.server->port());
  auto second = authenticated_peer(fx.server->port());
  RawPeer third(fx.server->port());
  const auto ending = third.read_until_closed();
  ASSERT_TRUE(ending.error.has_value()) << "no ERROR for the connection over the cap";
  EXPECT_EQ(ending.error->code, Errc::overloaded);
  EXPECT_NE(ending.error->text.find("2 connections open"), std::string::npos) << ending.error->text;
  EXPECT_TRUE(ending.closed);
  EXPECT_EQ(fx.server->stats().connections_refused, 1u);
  expect_served(*client);
  // A freed place is taken again.
  second.reset();
  ASSERT_TRUE(test::wait_until([&] { return fx.server->session_count() == 1; }));
  auto again = authenticated_peer(fx.server->port());
  EXPECT_EQ(fx.server->stats().connections_refused, 1u);
}

TEST(ServerLimits, PeerThatReadsNothingIsDisconnected) {
  ServerConfig c = quick_config();
  c.stall_timeout = 500ms;
  test::ServerFixture fx(c);
  auto peer = authenticated_peer(fx.server->port());
  // Replies far larger than the socket buffers, never read.
  for (std::uint64_t rid = 1; rid <= 2; ++rid) peer->send(encode_message(Probe{16'000'000, 0}, rid).value());
  ASSERT_TRUE(test::wait_until([&] { return fx.server->stats().slow_readers_closed == 1; }))
      << "a peer that reads nothing kept its connection";
  ASSERT_TRUE(test::wait_until([&] { return fx.server->stats().held_bytes == 0; })) << "its replies are released";
  auto client = good_client(fx.server->port());
  expect_served(*client);
}

}  // namespace
}  // namespace tandem::net
