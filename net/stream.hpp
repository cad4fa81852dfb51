#pragma once
// The byte stream under one connection: plain TCP, or TLS over the same
// socket (boost::asio::ssl::stream). Frame I/O (frame_io.hpp), the server's
// sessions, the client and the link emulator read and write through this
// interface only, so none of them depends on which it is.
//
// Ending a connection: shutdown_send() sends a TCP FIN, also under TLS (no
// close_notify). Frames carry their own lengths, so a stream cut short is
// detected by the framing (truncated_frame) and a TLS peer that ends without
// close_notify reads as a normal end of stream (asio::error::eof).
//
// Use from the executor (strand) that owns the socket only. At most one read
// and one write may be outstanding at a time.

#include <chrono>
#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include <utility>  // before Asio: Boost 1.74's awaitable.hpp uses std::exchange without it

#include <boost/asio/awaitable.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "net/tls.hpp"

namespace tandem::net {

/// What one read or write did.
struct Transfer {
  boost::system::error_code ec;
  std::size_t bytes = 0;
};

class Stream {
 public:
  virtual ~Stream() = default;

  /// The TCP socket underneath: options, endpoints, cancellation.
  virtual boost::asio::ip::tcp::socket& socket() noexcept = 0;
  /// TLS: the handshake, verifying the peer as the context says; returns its error (the
  /// reason names what OpenSSL refused). Plain TCP: nothing. Call once, before any read/write.
  virtual boost::asio::awaitable<boost::system::error_code> handshake() = 0;
  /// Reads at least one byte into `into`; the end of the stream is asio::error::eof.
  virtual boost::asio::awaitable<Transfer> read_some(boost::asio::mutable_buffer into) = 0;
  /// Writes at least one byte of `buffers` (in order) unless it fails.
  virtual boost::asio::awaitable<Transfer> write_some(std::span<const boost::asio::const_buffer> buffers) = 0;
  /// True for TLS.
  virtual bool secure() const noexcept = 0;

  /// Sends a TCP FIN after what has been written; never throws.
  void shutdown_send() noexcept;
  /// Closes the socket: outstanding operations end with operation_aborted. Never throws.
  void close() noexcept;
};

/// Writes all of `buffers` (modified as it goes). `progress`, when given, is set to the time of
/// every write that moved bytes. Returns the first error, if any.
boost::asio::awaitable<boost::system::error_code> write_all(
    Stream& stream, std::vector<boost::asio::const_buffer> buffers,
    std::chrono::steady_clock::time_point* progress = nullptr);

/// A stream over `socket`: plain when `tls` is null, else TLS in the context's role. A client
/// verifying its server checks the certificate against `peer_host` (a DNS name, also sent as
/// SNI, or an IP address). Throws only bad_alloc.
std::unique_ptr<Stream> make_stream(boost::asio::ip::tcp::socket socket, std::shared_ptr<const TlsContext> tls,
                                    const std::string& peer_host = {});

}  // namespace tandem::net
