#pragma once
// Certificates made at test time (OpenSSL API, P-256 keys), written as PEM
// files into a fresh temporary directory that is removed again: nothing is
// committed and no key outlives the process that made it. For TLS tests and
// benchmarks on loopback.

#include <filesystem>
#include <string>

namespace tandem::testutil {

/// A CA, a server certificate for 127.0.0.1 / localhost and a client
/// certificate, both signed by the CA, plus an unrelated second CA (with a
/// server certificate of its own) for "wrong CA" cases. Paths are absolute.
class TestPki {
 public:
  /// Makes everything under a new directory in the system temp dir. Throws
  /// std::runtime_error naming the OpenSSL step that failed.
  TestPki();
  /// Removes the directory.
  ~TestPki();
  TestPki(const TestPki&) = delete;
  TestPki& operator=(const TestPki&) = delete;

  std::string ca_cert;       // the CA everything below is signed by
  std::string server_cert;   // CN tandem-cloud, SAN IP:127.0.0.1, DNS:localhost
  std::string server_key;
  std::string client_cert;   // CN tandem-edge
  std::string client_key;
  std::string other_ca_cert;      // a CA that signed nothing of the above
  std::string other_server_cert;  // 127.0.0.1 / localhost, signed by other_ca_cert
  std::string other_server_key;

 private:
  std::filesystem::path dir_;
};

}  // namespace tandem::testutil
