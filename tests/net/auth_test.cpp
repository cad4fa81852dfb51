#include "net/auth.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

namespace tandem::net {
namespace {

std::vector<std::uint8_t> from_hex(std::string_view hex) {
  std::vector<std::uint8_t> out;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2) out.push_back(static_cast<std::uint8_t>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  return out;
}

std::vector<std::uint8_t> bytes(std::string_view s) { return {s.begin(), s.end()}; }

TEST(Hmac, Rfc4231TestCases) {
  // Test case 1.
  EXPECT_EQ(hmac_sha256(std::vector<std::uint8_t>(20, 0x0b), bytes("Hi There")).value(),
            [] { Mac m{}; auto v = from_hex("b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"); std::copy(v.begin(), v.end(), m.begin()); return m; }());
  // Test case 2: a key shorter than the block.
  const auto tc2 = hmac_sha256(bytes("Jefe"), bytes("what do ya want for nothing?")).value();
  const auto want2 = from_hex("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  EXPECT_TRUE(std::equal(tc2.begin(), tc2.end(), want2.begin()));
  // Test case 6: a key longer than the block (131 bytes of 0xaa).
  const auto tc6 = hmac_sha256(std::vector<std::uint8_t>(131, 0xaa),
                               bytes("Test Using Larger Than Block-Size Key - Hash Key First")).value();
  const auto want6 = from_hex("60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
  EXPECT_TRUE(std::equal(tc6.begin(), tc6.end(), want6.begin()));
}

TEST(Auth, ProofsDependOnKeyNonceAndDirection) {
  const auto key = AuthKey::from_bytes(std::vector<std::uint8_t>(32, 'a')).value();
  const auto other = AuthKey::from_bytes(std::vector<std::uint8_t>(32, 'b')).value();
  const Nonce server = random_nonce().value();
  const Nonce client = random_nonce().value();
  EXPECT_NE(server, client);
  const auto p = client_proof(key, server, client).value();
  EXPECT_TRUE(constant_time_equal(p, client_proof(key, server, client).value()));
  EXPECT_FALSE(constant_time_equal(p, client_proof(other, server, client).value())) << "wrong key rejected";
  EXPECT_FALSE(constant_time_equal(p, server_proof(key, server, client).value())) << "no reflection";
  Nonce replayed = server;
  replayed[0] ^= 1;
  EXPECT_FALSE(constant_time_equal(p, client_proof(key, replayed, client).value())) << "fresh nonce, fresh proof";
  EXPECT_FALSE(constant_time_equal(std::vector<std::uint8_t>{1, 2}, std::vector<std::uint8_t>{1, 2, 3}));
}

class KeyFile : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("tandem-auth-test-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::filesystem::path write(const std::string& name, const std::string& contents, mode_t mode) {
    const auto path = dir_ / name;
    std::ofstream(path, std::ios::binary) << contents;
    ::chmod(path.c_str(), mode);
    return path;
  }
  std::filesystem::path dir_;
};

TEST_F(KeyFile, ReadsAndTrimsTrailingNewline) {
  const auto path = write("good", "0123456789abcdef0123456789abcdef\n", 0600);
  const auto key = AuthKey::from_file(path);
  ASSERT_TRUE(key.ok()) << key.error().message;
  EXPECT_EQ(key.value().bytes().size(), 32u);
}

TEST_F(KeyFile, RejectsMissingEmptyShortOpenAndDirectory) {
  struct Case {
    const char* name;
    Expected<AuthKey> key;
    const char* says;
  };
  const Case cases[] = {
      {"missing", AuthKey::from_file(dir_ / "nope"), "No such file"},
      {"empty", AuthKey::from_file(write("empty", "\n", 0600)), "empty"},
      {"short", AuthKey::from_file(write("short", "tooshort", 0600)), "at least 16"},
      {"world-readable", AuthKey::from_file(write("open", std::string(32, 'x'), 0644)), "chmod 600"},
      {"group-readable", AuthKey::from_file(write("group", std::string(32, 'x'), 0640)), "chmod 600"},
      {"directory", AuthKey::from_file(dir_), "not a regular file"},
  };
  for (const Case& c : cases) {
    ASSERT_FALSE(c.key.ok()) << c.name;
    EXPECT_EQ(c.key.error().code, make_error_code(Errc::bad_key_file)) << c.name;
    EXPECT_NE(c.key.error().message.find(c.says), std::string::npos) << c.name << ": " << c.key.error().message;
  }
}

}  // namespace
}  // namespace tandem::net
