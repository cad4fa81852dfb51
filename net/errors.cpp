#include "net/errors.hpp"

namespace tandem::net {
namespace {

class NetCategory final : public boost::system::error_category {
 public:
  const char* name() const noexcept override { return "tandem.net"; }
  std::string message(int value) const override {
    switch (static_cast<Errc>(value)) {
      case Errc::bad_magic: return "bad frame magic";
      case Errc::unsupported_version: return "unsupported protocol version";
      case Errc::unknown_message_type: return "unknown message type";
      case Errc::frame_too_large: return "frame payload over the configured limit";
      case Errc::bad_checksum: return "payload checksum mismatch";
      case Errc::bad_flags: return "unknown frame flags";
      case Errc::truncated_frame: return "connection closed in the middle of a frame";
      case Errc::malformed_payload: return "malformed payload";
      case Errc::invalid_tensor: return "invalid tensor";
      case Errc::unexpected_message: return "unexpected message";
      case Errc::auth_failed: return "authentication failed";
      case Errc::unknown_model: return "unknown model";
      case Errc::fingerprint_mismatch: return "weight fingerprint mismatch";
      case Errc::handshake_timeout: return "handshake timed out";
      case Errc::deadline_exceeded: return "deadline exceeded";
      case Errc::shutting_down: return "server shutting down";
      case Errc::internal_error: return "internal error";
      case Errc::request_failed: return "request failed";
      case Errc::stalled: return "peer stalled in the middle of a frame";
      case Errc::overloaded: return "server at a limit";
      case Errc::connection_lost: return "connection lost";
      case Errc::not_connected: return "not connected";
      case Errc::connect_timeout: return "connect timed out";
      case Errc::bad_key_file: return "bad key file";
      case Errc::remote_error: return "peer reported an error";
    }
    return "unknown tandem.net error " + std::to_string(value);
  }
};

}  // namespace

const boost::system::error_category& net_category() noexcept {
  static const NetCategory category;
  return category;
}

boost::system::error_code make_error_code(Errc e) noexcept {
  return {static_cast<int>(e), net_category()};
}

bool is_wire_errc(std::uint16_t value) noexcept {
  switch (static_cast<Errc>(value)) {
    case Errc::bad_magic: case Errc::unsupported_version: case Errc::unknown_message_type:
    case Errc::frame_too_large: case Errc::bad_checksum: case Errc::bad_flags:
    case Errc::truncated_frame: case Errc::malformed_payload: case Errc::invalid_tensor:
    case Errc::unexpected_message: case Errc::auth_failed: case Errc::unknown_model:
    case Errc::fingerprint_mismatch: case Errc::handshake_timeout: case Errc::deadline_exceeded:
    case Errc::shutting_down: case Errc::internal_error: case Errc::request_failed:
    case Errc::stalled: case Errc::overloaded:
      return true;
    default:
      return false;
  }
}

}  // namespace tandem::net
