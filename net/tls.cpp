#include "net/tls.hpp"

#include <fmt/format.h>

namespace tandem::net {
namespace ssl = boost::asio::ssl;

TlsContext::TlsContext(TlsRole role, bool verifies_peer)
    : role_(role),
      verifies_peer_(verifies_peer),
      context_(role == TlsRole::server ? ssl::context::tls_server : ssl::context::tls_client) {}

Expected<std::shared_ptr<const TlsContext>> make_tls_context(TlsRole role, const TlsFiles& files) {
  const char* side = role == TlsRole::server ? "server" : "client";
  if (role == TlsRole::server && (files.cert_file.empty() || files.key_file.empty())) {
    return Error::make(Errc::internal_error, "a TLS server needs a certificate and its key (--tls-cert and --tls-key)");
  }
  if (role == TlsRole::client && files.ca_file.empty()) {
    return Error::make(Errc::internal_error,
                       "a TLS client needs the CA that signed the server's certificate (--tls-ca), to verify it");
  }
  if (files.cert_file.empty() != files.key_file.empty()) {
    return Error::make(Errc::internal_error, "--tls-cert and --tls-key go together: give both or neither");
  }
  const bool verify = !files.ca_file.empty();
  auto tls = std::make_shared<TlsContext>(role, verify);
  ssl::context& c = tls->native();
  boost::system::error_code ec;
  const auto failed = [&](const char* what, const std::string& file) {
    return Error{ec, fmt::format("TLS {}: cannot use {} {}: {}", side, what, file, ec.message())};
  };
  c.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                    ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 | ssl::context::single_dh_use,
                ec);
  if (ec) return Error{ec, fmt::format("TLS {}: cannot set protocol options: {}", side, ec.message())};
  if (!files.cert_file.empty()) {
    if (c.use_certificate_chain_file(files.cert_file, ec); ec) return failed("certificate", files.cert_file);
    if (c.use_private_key_file(files.key_file, ssl::context::pem, ec); ec) return failed("private key", files.key_file);
    if (::SSL_CTX_check_private_key(c.native_handle()) != 1) {
      return Error::make(Errc::internal_error, fmt::format("TLS {}: key {} does not belong to certificate {}", side,
                                                           files.key_file, files.cert_file));
    }
  }
  if (verify) {
    if (c.load_verify_file(files.ca_file, ec); ec) return failed("CA file", files.ca_file);
    ssl::verify_mode mode = ssl::verify_peer;
    if (role == TlsRole::server) mode |= ssl::verify_fail_if_no_peer_cert;
    if (c.set_verify_mode(mode, ec); ec) return failed("CA file", files.ca_file);
  } else {
    c.set_verify_mode(ssl::verify_none, ec);
  }
  return std::shared_ptr<const TlsContext>(std::move(tls));
}

}  // namespace tandem::net
