#pragma once
// Shared-key authentication for the handshake (see messages.hpp for the flow):
// key files, HMAC-SHA256 through OpenSSL, constant-time comparison, nonces.

#include <array>
#include <cstdint>
#include <filesystem>
#include <span>
#include <vector>

#include "net/errors.hpp"
#include "net/messages.hpp"

namespace tandem::net {

inline constexpr std::size_t k_min_key_bytes = 16;
inline constexpr std::size_t k_max_key_bytes = 4096;

using Mac = std::array<std::uint8_t, 32>;

/// A shared secret; its bytes are wiped when it is destroyed. Immutable, thread-safe to read.
class AuthKey {
 public:
  /// Reads a key file: a regular file, not accessible by group or others, whose contents
  /// (trailing whitespace removed) are 16..4096 bytes. Returns bad_key_file with the reason.
  static Expected<AuthKey> from_file(const std::filesystem::path& path);
  /// Uses `bytes` as the key; bad_key_file when shorter than k_min_key_bytes or longer than the max.
  static Expected<AuthKey> from_bytes(std::span<const std::uint8_t> bytes);

  AuthKey(const AuthKey&) = default;
  AuthKey(AuthKey&&) noexcept = default;
  AuthKey& operator=(const AuthKey&) = default;
  AuthKey& operator=(AuthKey&&) noexcept = default;
  ~AuthKey();

  std::span<const std::uint8_t> bytes() const noexcept { return bytes_; }

 private:
  AuthKey() = default;
  std::vector<std::uint8_t> bytes_;
};

/// HMAC-SHA256(key, data) via OpenSSL's EVP_Q_mac; internal_error if OpenSSL fails. Thread-safe.
Expected<Mac> hmac_sha256(std::span<const std::uint8_t> key, std::span<const std::uint8_t> data);
/// True when a and b have equal size and bytes; time independent of where they differ. Thread-safe.
bool constant_time_equal(std::span<const std::uint8_t> a, std::span<const std::uint8_t> b) noexcept;
/// 32 bytes from OpenSSL's CSPRNG (RAND_bytes); internal_error if it fails. Thread-safe.
Expected<Nonce> random_nonce();

/// The client's proof: HMAC(key, "tandem/1 client" ‖ server_nonce ‖ client_nonce). Thread-safe.
Expected<Proof> client_proof(const AuthKey& key, const Nonce& server_nonce, const Nonce& client_nonce);
/// The server's proof: HMAC(key, "tandem/1 server" ‖ server_nonce ‖ client_nonce). Thread-safe.
Expected<Proof> server_proof(const AuthKey& key, const Nonce& server_nonce, const Nonce& client_nonce);

}  // namespace tandem::net
