#pragma once
// Error currency of tandem::net: boost::system::error_code everywhere, with
// the protocol's own codes in the "tandem.net" category, plus a message that
// carries the context (which field, which tensor, which model).
//
// The numeric values of Errc below 100 travel in ERROR frames: never renumber
// them. Values from 100 are local to a process and never sent.

#include <cstdint>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>

#include <boost/system/error_code.hpp>

namespace tandem::net {

enum class Errc : std::uint16_t {
  // Framing.
  bad_magic = 1,
  unsupported_version = 2,
  unknown_message_type = 3,
  frame_too_large = 4,
  bad_checksum = 5,
  bad_flags = 6,
  truncated_frame = 7,
  // Payloads.
  malformed_payload = 10,
  invalid_tensor = 11,
  unexpected_message = 12,
  // Handshake.
  auth_failed = 20,
  unknown_model = 21,
  fingerprint_mismatch = 22,
  handshake_timeout = 23,
  // Requests.
  deadline_exceeded = 30,
  shutting_down = 31,
  internal_error = 32,
  request_failed = 33,
  stalled = 34,
  overloaded = 35,  // a server limit (connections, requests in flight, memory): try again later
  // Local only (never on the wire).
  connection_lost = 100,
  not_connected = 101,
  connect_timeout = 102,
  bad_key_file = 103,
  remote_error = 105,
};

/// The "tandem.net" error category; thread-safe, never throws.
const boost::system::error_category& net_category() noexcept;
/// Wraps an Errc in an error_code of net_category(); never throws.
boost::system::error_code make_error_code(Errc e) noexcept;
/// True when `value` is an Errc that may appear in an ERROR frame; never throws.
bool is_wire_errc(std::uint16_t value) noexcept;

/// A failure with its context. `code` is in net_category() or a system/asio code.
struct Error {
  boost::system::error_code code;
  std::string message;

  /// Builds an Error from a protocol code and a context message; never throws except bad_alloc.
  static Error make(Errc e, std::string message) { return {make_error_code(e), std::move(message)}; }
};

/// Either a value or an Error. The single return currency of the codecs.
template <class T>
class Expected {
 public:
  Expected(T value) : v_(std::move(value)) {}                // NOLINT: implicit by design
  Expected(Error error) : v_(std::move(error)) {}            // NOLINT: implicit by design

  /// True when a value is held; never throws.
  bool ok() const noexcept { return v_.index() == 0; }
  explicit operator bool() const noexcept { return ok(); }
  /// The value; precondition ok() (std::bad_variant_access otherwise).
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  /// The error; precondition !ok() (std::bad_variant_access otherwise).
  const Error& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

}  // namespace tandem::net

template <>
struct boost::system::is_error_code_enum<tandem::net::Errc> : std::true_type {};
