#include "net/crc32c.hpp"

#include <array>
#include <cstring>

namespace tandem::net {
namespace {

constexpr std::uint32_t k_polynomial = 0x82F63B78u;  // reflected Castagnoli

constexpr std::array<std::uint32_t, 256> make_table() {
  std::array<std::uint32_t, 256> table{};
  for (std::uint32_t i = 0; i < 256; ++i) {
    std::uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1u) ? (c >> 1) ^ k_polynomial : c >> 1;
    table[i] = c;
  }
  return table;
}

constexpr std::array<std::uint32_t, 256> k_table = make_table();

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define TANDEM_HAVE_SSE42_PATH 1
__attribute__((target("sse4.2"))) std::uint32_t crc32c_sse42(std::uint32_t crc, const std::byte* p,
                                                             std::size_t n) noexcept {
  std::uint64_t c = ~crc;
  while (n >= 8) {
    std::uint64_t word;
    std::memcpy(&word, p, 8);  // the instruction consumes little-endian words, like x86 loads
    c = __builtin_ia32_crc32di(c, word);
    p += 8;
    n -= 8;
  }
  auto c32 = static_cast<std::uint32_t>(c);
  while (n > 0) {
    c32 = __builtin_ia32_crc32qi(c32, static_cast<unsigned char>(*p));
    ++p;
    --n;
  }
  return ~c32;
}

bool cpu_has_sse42() noexcept {
  static const bool has = __builtin_cpu_supports("sse4.2");
  return has;
}
#endif

}  // namespace

std::uint32_t crc32c_update_portable(std::uint32_t crc, std::span<const std::byte> data) noexcept {
  std::uint32_t c = ~crc;
  for (std::byte b : data) c = k_table[(c ^ static_cast<std::uint8_t>(b)) & 0xFFu] ^ (c >> 8);
  return ~c;
}

std::uint32_t crc32c_update(std::uint32_t crc, std::span<const std::byte> data) noexcept {
#ifdef TANDEM_HAVE_SSE42_PATH
  if (cpu_has_sse42()) return crc32c_sse42(crc, data.data(), data.size());
#endif
  return crc32c_update_portable(crc, data);
}

}  // namespace tandem::net
