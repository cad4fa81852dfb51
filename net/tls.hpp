#pragma once
// TLS for the edge–cloud connection (docs/design.md §5): certificates and
// keys from PEM files, checked when the context is made, so a daemon refuses
// a bad file at start with the file named. The HMAC handshake (auth.hpp) runs
// inside TLS as it does without it.
//
//   server: cert_file + key_file (required); ca_file (optional) makes TLS
//           mutual — clients must present a certificate signed by it.
//   client: ca_file (required): the server's certificate must chain to it and
//           name the host connected to (DNS name or IP address);
//           cert_file + key_file (optional, together) are presented when the
//           server asks (mutual TLS).
//
// TLS 1.2 or newer. A context is immutable once made and may be shared by any
// number of connections on any threads.

#include <memory>
#include <string>

#include <boost/asio/ssl/context.hpp>

#include "net/errors.hpp"

namespace tandem::net {

struct TlsFiles {
  std::string cert_file;  // PEM certificate chain this side presents
  std::string key_file;   // PEM private key of cert_file
  std::string ca_file;    // PEM certificate(s) the peer's certificate must chain to
};

enum class TlsRole { server, client };

class TlsContext {
 public:
  TlsContext(TlsRole role, bool verifies_peer);
  TlsRole role() const noexcept { return role_; }
  /// True when the peer must present a certificate that chains to ca_file.
  bool verifies_peer() const noexcept { return verifies_peer_; }
  /// The Asio context; connections only read it.
  boost::asio::ssl::context& native() const noexcept { return context_; }

 private:
  TlsRole role_;
  bool verifies_peer_;
  mutable boost::asio::ssl::context context_;
};

/// Loads the files for `role` (the rules above). Returns the context, or an Error
/// (internal_error) naming the file and OpenSSL's reason — missing, unreadable, not PEM, a key
/// that does not match the certificate, or a required file not given. Throws only bad_alloc.
Expected<std::shared_ptr<const TlsContext>> make_tls_context(TlsRole role, const TlsFiles& files);

}  // namespace tandem::net
