#pragma once
// CRC32C (Castagnoli, reflected polynomial 0x82F63B78), as used by iSCSI,
// ext4 and gRPC. Uses the SSE4.2 crc32 instruction when the CPU has it and a
// table otherwise; both give identical results.

#include <cstddef>
#include <cstdint>
#include <span>

namespace tandem::net {

/// Continues a CRC32C over `data` (start with crc = 0); returns the new CRC. Thread-safe, never throws.
std::uint32_t crc32c_update(std::uint32_t crc, std::span<const std::byte> data) noexcept;
/// CRC32C of `data`; thread-safe, never throws.
inline std::uint32_t crc32c(std::span<const std::byte> data) noexcept { return crc32c_update(0, data); }
/// The table-driven path only (for testing the hardware path against it); thread-safe.
std::uint32_t crc32c_update_portable(std::uint32_t crc, std::span<const std::byte> data) noexcept;

}  // namespace tandem::net
