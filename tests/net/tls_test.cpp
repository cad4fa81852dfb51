// TLS between client and server (net/tls.hpp, net/stream.hpp) with
// certificates made at test time: a loopback round trip (one-way and mutual),
// refusals for a wrong CA, an impostor server, a missing client certificate,
// and a plain peer on either side — each refused cleanly while a good TLS
// client keeps being served.
#include <future>
#include <string>

#include <gtest/gtest.h>

#include "net/client.hpp"
#include "net/tls.hpp"
#include "net_test_support.hpp"
#include "testutil/test_pki.hpp"

namespace tandem::net {
namespace {

using namespace std::chrono_literals;

std::shared_ptr<const TlsContext> context(TlsRole role, const TlsFiles& files) {
  auto c = make_tls_context(role, files);
  EXPECT_TRUE(c.ok()) << c.error().message;
  return c.ok() ? c.value() : nullptr;
}

class Tls : public ::testing::Test {
 protected:
  ServerConfig server_config(bool mutual, bool impostor = false) {
    ServerConfig c;
    c.handshake_timeout = 1000ms;
    c.linger_timeout = 500ms;
    c.tls = context(TlsRole::server, {impostor ? pki_.other_server_cert : pki_.server_cert,
                                      impostor ? pki_.other_server_key : pki_.server_key, mutual ? pki_.ca_cert : ""});
    return c;
  }

  ClientConfig client_config(const std::string& ca, bool with_cert) {
    ClientConfig cc;
    cc.models = {{"toy", test::k_toy_fingerprint}};
    cc.connect_timeout = 3000ms;
    if (!ca.empty()) {
      cc.tls = context(TlsRole::client, {with_cert ? pki_.client_cert : "", with_cert ? pki_.client_key : "", ca});
    }
    return cc;
  }

  static void expect_round_trip(Client& client) {
    auto f = client.infer(test::toy_request(50'000, 7.0f));  // 200 KB: many TLS records each way
    ASSERT_EQ(f.wait_for(test::k_wait_bound), std::future_status::ready);
    const auto r = f.get();
    ASSERT_TRUE(r.ok()) << r.error().message;
    const auto out = to_floats(r.value().outputs[0]);
    ASSERT_EQ(out.size(), 50'000u);
    EXPECT_EQ(out.front(), 7.0f);
    EXPECT_EQ(out.back(), 7.0f + 49'999.0f);
  }

  testutil::TestPki pki_;
};

TEST_F(Tls, MutualRoundTripOnLoopback) {
  test::ServerFixture fx(server_config(true));
  Client client(client_config(pki_.ca_cert, true), test::make_key());
  const auto ack = client.connect("127.0.0.1", fx.server->port());
  ASSERT_TRUE(ack.ok()) << ack.error().message;
  expect_round_trip(client);
  auto probe = client.probe(256 * 1024, 64 * 1024).get();
  ASSERT_TRUE(probe.ok()) << probe.error().message;
  EXPECT_EQ(fx.server->stats().tls_failures, 0u);
}

TEST_F(Tls, OneWayRoundTripByHostName) {
  test::ServerFixture fx(server_config(false));
  Client client(client_config(pki_.ca_cert, false), test::make_key());
  const auto ack = client.connect("localhost", fx.server->port());  // SNI and a DNS name check
  ASSERT_TRUE(ack.ok()) << ack.error().message;
  expect_round_trip(client);
}

TEST_F(Tls, ClientTrustingAnotherCaIsRefused) {
  test::ServerFixture fx(server_config(false));
  Client wrong(client_config(pki_.other_ca_cert, false), test::make_key());
  const auto r = wrong.connect("127.0.0.1", fx.server->port());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("TLS handshake"), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find("certificate verify failed"), std::string::npos) << r.error().message;
  EXPECT_TRUE(test::wait_until([&] { return fx.server->stats().tls_failures == 1; }));
  Client good(client_config(pki_.ca_cert, false), test::make_key());
  ASSERT_TRUE(good.connect("127.0.0.1", fx.server->port()).ok());
  expect_round_trip(good);
}

TEST_F(Tls, ImpostorServerIsRefused) {
  test::ServerFixture fx(server_config(false, /*impostor=*/true));
  Client client(client_config(pki_.ca_cert, false), test::make_key());
  const auto r = client.connect("127.0.0.1", fx.server->port());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("certificate verify failed"), std::string::npos) << r.error().message;
}

TEST_F(Tls, MutualTlsRefusesAClientWithoutACertificate) {
  test::ServerFixture fx(server_config(true));
  Client anonymous(client_config(pki_.ca_cert, false), test::make_key());
  const auto r = anonymous.connect("127.0.0.1", fx.server->port());
  ASSERT_FALSE(r.ok()) << "a client without a certificate got through mutual TLS";
  EXPECT_TRUE(test::wait_until([&] { return fx.server->stats().tls_failures == 1; }));
  EXPECT_EQ(fx.server->stats().handshakes_completed, 0u);
}

TEST_F(Tls, PlainClientToATlsServerIsRefusedCleanly) {
  test::ServerFixture fx(server_config(false));
  Client plain(client_config("", false), test::make_key());
  const auto r = plain.connect("127.0.0.1", fx.server->port());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("--tls-ca"), std::string::npos) << "no hint at TLS: " << r.error().message;
  EXPECT_TRUE(test::wait_until([&] { return fx.server->stats().tls_failures == 1; }));
  EXPECT_TRUE(test::wait_until([&] { return fx.server->session_count() == 0; }));
  Client good(client_config(pki_.ca_cert, false), test::make_key());
  ASSERT_TRUE(good.connect("127.0.0.1", fx.server->port()).ok());
  expect_round_trip(good);
}

TEST_F(Tls, TlsClientToAPlainServerIsRefusedCleanly) {
  ServerConfig c;
  c.linger_timeout = 500ms;
  test::ServerFixture fx(c);
  Client tls(client_config(pki_.ca_cert, false), test::make_key());
  const auto r = tls.connect("127.0.0.1", fx.server->port());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("TLS handshake"), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find("--tls-cert"), std::string::npos) << r.error().message;
  // The server saw a ClientHello where a frame belongs: bad magic, ERROR, close.
  EXPECT_TRUE(test::wait_until([&] { return fx.server->stats().sessions_rejected == 1; }));
}

TEST_F(Tls, BadFilesAreRefusedNamingTheFile) {
  auto missing = make_tls_context(TlsRole::server, {"/nonexistent/cert.pem", pki_.server_key, ""});
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("/nonexistent/cert.pem"), std::string::npos) << missing.error().message;

  auto mismatched = make_tls_context(TlsRole::server, {pki_.server_cert, pki_.client_key, ""});
  ASSERT_FALSE(mismatched.ok());
  EXPECT_NE(mismatched.error().message.find(pki_.client_key), std::string::npos) << mismatched.error().message;

  auto not_pem = make_tls_context(TlsRole::client, {"", "", pki_.server_key});
  EXPECT_FALSE(not_pem.ok()) << "a private key accepted as a CA file";

  auto no_ca = make_tls_context(TlsRole::client, {"", "", ""});
  ASSERT_FALSE(no_ca.ok());
  EXPECT_NE(no_ca.error().message.find("--tls-ca"), std::string::npos) << no_ca.error().message;

  auto half = make_tls_context(TlsRole::client, {pki_.client_cert, "", pki_.ca_cert});
  EXPECT_FALSE(half.ok());
}

}  // namespace
}  // namespace tandem::net
