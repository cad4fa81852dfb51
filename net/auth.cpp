#include "net/auth.hpp"

#include <sys/stat.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string_view>

#include <fmt/format.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

namespace tandem::net {
namespace {

Error key_error(const std::filesystem::path& path, std::string_view why) {
  return Error::make(Errc::bad_key_file, fmt::format("key file {}: {}", path.string(), why));
}

Expected<Proof> labelled_proof(const AuthKey& key, std::string_view label, const Nonce& server_nonce,
                               const Nonce& client_nonce) {
  std::vector<std::uint8_t> message(label.begin(), label.end());
  message.insert(message.end(), server_nonce.begin(), server_nonce.end());
  message.insert(message.end(), client_nonce.begin(), client_nonce.end());
  return hmac_sha256(key.bytes(), message);
}

}  // namespace

AuthKey::~AuthKey() {
  if (!bytes_.empty()) OPENSSL_cleanse(bytes_.data(), bytes_.size());
}

Expected<AuthKey> AuthKey::from_bytes(std::span<const std::uint8_t> bytes) {
  if (bytes.size() < k_min_key_bytes) {
    return Error::make(Errc::bad_key_file,
                       fmt::format("key is {} bytes, at least {} are required", bytes.size(), k_min_key_bytes));
  }
  if (bytes.size() > k_max_key_bytes) {
    return Error::make(Errc::bad_key_file,
                       fmt::format("key is {} bytes, at most {} are allowed", bytes.size(), k_max_key_bytes));
  }
  AuthKey key;
  key.bytes_.assign(bytes.begin(), bytes.end());
  return key;
}

Expected<AuthKey> AuthKey::from_file(const std::filesystem::path& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return key_error(path, std::strerror(errno));
  if (!S_ISREG(st.st_mode)) return key_error(path, "not a regular file");
  if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
    return key_error(path, fmt::format("accessible by group or others (mode {:04o}); run chmod 600 on it",
                                       st.st_mode & 07777));
  }
  if (st.st_size > static_cast<off_t>(k_max_key_bytes + 64)) return key_error(path, "larger than 4 KiB");
  std::ifstream in(path, std::ios::binary);
  if (!in) return key_error(path, "cannot be opened for reading");
  std::vector<std::uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  // Keys are often written by `openssl rand -hex 32 > key`: ignore the trailing newline.
  while (!bytes.empty() && std::isspace(bytes.back())) bytes.pop_back();
  if (bytes.empty()) return key_error(path, "empty");
  auto key = from_bytes(bytes);
  OPENSSL_cleanse(bytes.data(), bytes.size());
  if (!key) return key_error(path, key.error().message);
  return key;
}

Expected<Mac> hmac_sha256(std::span<const std::uint8_t> key, std::span<const std::uint8_t> data) {
  Mac out{};
  std::size_t out_len = 0;
  if (EVP_Q_mac(nullptr, "HMAC", nullptr, "SHA256", nullptr, key.data(), key.size(), data.data(), data.size(),
                out.data(), out.size(), &out_len) == nullptr ||
      out_len != out.size()) {
    return Error::make(Errc::internal_error, "OpenSSL HMAC-SHA256 failed");
  }
  return out;
}

bool constant_time_equal(std::span<const std::uint8_t> a, std::span<const std::uint8_t> b) noexcept {
  if (a.size() != b.size()) return false;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

Expected<Nonce> random_nonce() {
  Nonce n{};
  if (RAND_bytes(n.data(), static_cast<int>(n.size())) != 1) {
    return Error::make(Errc::internal_error, "OpenSSL RAND_bytes failed");
  }
  return n;
}

Expected<Proof> client_proof(const AuthKey& key, const Nonce& server_nonce, const Nonce& client_nonce) {
  return labelled_proof(key, "tandem/1 client", server_nonce, client_nonce);
}

Expected<Proof> server_proof(const AuthKey& key, const Nonce& server_nonce, const Nonce& client_nonce) {
  return labelled_proof(key, "tandem/1 server", server_nonce, client_nonce);
}

}  // namespace tandem::net
