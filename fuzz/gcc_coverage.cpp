// Coverage for libFuzzer from GCC's -fsanitize-coverage=trace-pc (see
// fuzz/CMakeLists.txt): each instrumented basic block calls
// __sanitizer_cov_trace_pc; its return address, hashed, bumps one of 64 Ki
// 8-bit counters registered with libFuzzer as one module. Collisions only
// merge features; they never hide a crash.

#include <cstddef>
#include <cstdint>

extern "C" void __sanitizer_cov_8bit_counters_init(std::uint8_t* begin, std::uint8_t* end);
extern "C" void __sanitizer_cov_pcs_init(const std::uintptr_t* begin, const std::uintptr_t* end);

namespace {

constexpr std::size_t k_counters = std::size_t{1} << 16;
alignas(64) std::uint8_t g_counters[k_counters];
// libFuzzer pairs each counter with a (pc, flags) entry; the index stands in for the pc.
std::uintptr_t g_pcs[2 * k_counters];

__attribute__((constructor)) void register_counters() {
  for (std::size_t i = 0; i < k_counters; ++i) g_pcs[2 * i] = i + 1;
  __sanitizer_cov_8bit_counters_init(g_counters, g_counters + k_counters);
  __sanitizer_cov_pcs_init(g_pcs, g_pcs + 2 * k_counters);
}

}  // namespace

extern "C" __attribute__((no_sanitize_address)) void __sanitizer_cov_trace_pc() {
  auto pc = reinterpret_cast<std::uintptr_t>(__builtin_return_address(0));
  pc *= 0x9E3779B97F4A7C15ull;  // Fibonacci hashing: the top bits mix every bit of the pc
  ++g_counters[pc >> (64 - 16)];
}
