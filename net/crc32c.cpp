#include "net/crc32c.hpp"

#include <array>
#include <cstring>
#include <vector>

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

// The crc32 instruction takes 3 cycles and can start one per cycle, so one
// chain of them runs at a third of the core's rate. Three chains over three
// adjacent blocks, combined by shifting the first two past the blocks after
// them, run ~3x faster (a 602 KB tensor: 60 -> 22 us, median of 200).
constexpr std::size_t k_block = 8192;

__attribute__((target("sse4.2"))) std::uint64_t crc_words(std::uint64_t c, const std::byte* p, std::size_t n) noexcept {
  for (; n >= 8; p += 8, n -= 8) {
    std::uint64_t word;
    std::memcpy(&word, p, 8);  // the instruction consumes little-endian words, like x86 loads
    c = __builtin_ia32_crc32di(c, word);
  }
  return c;
}

// Appending `bytes` zero bytes to a message maps its raw CRC state linearly
// (over GF(2)); the map as four byte-indexed tables.
struct ZeroShift {
  std::array<std::array<std::uint32_t, 256>, 4> table{};
  std::uint32_t operator()(std::uint32_t c) const noexcept {
    return table[0][c & 0xFFu] ^ table[1][(c >> 8) & 0xFFu] ^ table[2][(c >> 16) & 0xFFu] ^ table[3][c >> 24];
  }
};

__attribute__((target("sse4.2"))) ZeroShift make_zero_shift(std::size_t bytes) {
  const std::vector<std::byte> zeros(bytes, std::byte{0});
  std::array<std::uint32_t, 32> column{};
  for (int bit = 0; bit < 32; ++bit) {
    column[bit] = static_cast<std::uint32_t>(crc_words(std::uint64_t{1} << bit, zeros.data(), bytes));
  }
  ZeroShift z;
  for (int k = 0; k < 4; ++k) {
    for (std::uint32_t b = 0; b < 256; ++b) {
      std::uint32_t v = 0;
      for (int bit = 0; bit < 8; ++bit) {
        if (b >> bit & 1u) v ^= column[8 * k + bit];
      }
      z.table[k][b] = v;
    }
  }
  return z;
}

__attribute__((target("sse4.2"))) std::uint32_t crc32c_sse42(std::uint32_t crc, const std::byte* p,
                                                             std::size_t n) noexcept {
  static const ZeroShift shift1 = make_zero_shift(k_block);
  static const ZeroShift shift2 = make_zero_shift(2 * k_block);
  std::uint64_t c = ~crc;
  while (n >= 3 * k_block) {
    std::uint64_t a = c, b = 0, d = 0;
    for (std::size_t i = 0; i < k_block; i += 8) {
      std::uint64_t wa, wb, wd;
      std::memcpy(&wa, p + i, 8);
      std::memcpy(&wb, p + k_block + i, 8);
      std::memcpy(&wd, p + 2 * k_block + i, 8);
      a = __builtin_ia32_crc32di(a, wa);
      b = __builtin_ia32_crc32di(b, wb);
      d = __builtin_ia32_crc32di(d, wd);
    }
    c = shift2(static_cast<std::uint32_t>(a)) ^ shift1(static_cast<std::uint32_t>(b)) ^ static_cast<std::uint32_t>(d);
    p += 3 * k_block;
    n -= 3 * k_block;
  }
  c = crc_words(c, p, n);
  p += n & ~std::size_t{7};
  n &= 7;
  auto c32 = static_cast<std::uint32_t>(c);
  for (; n > 0; ++p, --n) c32 = __builtin_ia32_crc32qi(c32, static_cast<unsigned char>(*p));
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
