#include "net/stream.hpp"

#include <algorithm>
#include <cstring>

#include <boost/asio/error.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

namespace tandem::net {
namespace asio = boost::asio;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

namespace {

// TLS sends records of at most 16 KiB; small buffers (headers, metadata) are
// gathered into one staging buffer of up to this many bytes so that they do
// not each become a record, and large ones are written from where they are.
constexpr std::size_t k_tls_gather_bytes = 64 * 1024;

class PlainStream final : public Stream {
 public:
  explicit PlainStream(tcp::socket socket) : socket_(std::move(socket)) {}

  tcp::socket& socket() noexcept override { return socket_; }
  asio::awaitable<boost::system::error_code> handshake() override { co_return boost::system::error_code{}; }
  asio::awaitable<Transfer> read_some(asio::mutable_buffer into) override {
    Transfer t;
    t.bytes = co_await socket_.async_read_some(into, asio::redirect_error(asio::use_awaitable, t.ec));
    co_return t;
  }
  asio::awaitable<Transfer> write_some(std::span<const asio::const_buffer> buffers) override {
    Transfer t;
    t.bytes = co_await socket_.async_write_some(buffers, asio::redirect_error(asio::use_awaitable, t.ec));
    co_return t;
  }
  bool secure() const noexcept override { return false; }

 private:
  tcp::socket socket_;
};

class TlsStream final : public Stream {
 public:
  TlsStream(tcp::socket socket, std::shared_ptr<const TlsContext> tls, std::string peer_host)
      : tls_(std::move(tls)), stream_(std::move(socket), tls_->native()), peer_host_(std::move(peer_host)) {}

  tcp::socket& socket() noexcept override { return stream_.next_layer(); }

  asio::awaitable<boost::system::error_code> handshake() override {
    boost::system::error_code ec;
    const bool client = tls_->role() == TlsRole::client;
    if (client && !peer_host_.empty()) {
      boost::system::error_code not_ip;
      asio::ip::make_address(peer_host_, not_ip);
      // SNI only for names (RFC 6066); the certificate check for names and addresses alike.
      if (not_ip) ::SSL_set_tlsext_host_name(stream_.native_handle(), peer_host_.c_str());
      if (tls_->verifies_peer()) stream_.set_verify_callback(ssl::host_name_verification(peer_host_), ec);
      if (ec) co_return ec;
    }
    co_await stream_.async_handshake(client ? ssl::stream_base::client : ssl::stream_base::server,
                                     asio::redirect_error(asio::use_awaitable, ec));
    co_return ec;
  }

  asio::awaitable<Transfer> read_some(asio::mutable_buffer into) override {
    Transfer t;
    t.bytes = co_await stream_.async_read_some(into, asio::redirect_error(asio::use_awaitable, t.ec));
    if (t.ec == ssl::error::stream_truncated) t.ec = asio::error::eof;
    co_return t;
  }

  asio::awaitable<Transfer> write_some(std::span<const asio::const_buffer> buffers) override {
    Transfer t;
    const auto first = std::find_if(buffers.begin(), buffers.end(), [](const auto& b) { return b.size() > 0; });
    if (first == buffers.end()) co_return t;
    if (first->size() >= k_tls_gather_bytes) {
      const asio::const_buffer slice(first->data(), k_tls_gather_bytes);
      t.bytes = co_await asio::async_write(stream_, slice, asio::redirect_error(asio::use_awaitable, t.ec));
      co_return t;
    }
    staging_.clear();
    for (auto it = first; it != buffers.end() && staging_.size() < k_tls_gather_bytes; ++it) {
      const std::size_t n = std::min(it->size(), k_tls_gather_bytes - staging_.size());
      const auto* p = static_cast<const std::byte*>(it->data());
      staging_.insert(staging_.end(), p, p + n);
    }
    co_await asio::async_write(stream_, asio::buffer(staging_), asio::redirect_error(asio::use_awaitable, t.ec));
    t.bytes = t.ec ? 0 : staging_.size();
    co_return t;
  }

  bool secure() const noexcept override { return true; }

 private:
  std::shared_ptr<const TlsContext> tls_;
  ssl::stream<tcp::socket> stream_;
  std::string peer_host_;
  std::vector<std::byte> staging_;
};

}  // namespace

void Stream::shutdown_send() noexcept {
  boost::system::error_code ignored;
  socket().shutdown(tcp::socket::shutdown_send, ignored);
}

void Stream::close() noexcept {
  boost::system::error_code ignored;
  socket().close(ignored);
}

asio::awaitable<boost::system::error_code> write_all(Stream& stream, std::vector<asio::const_buffer> buffers,
                                                     std::chrono::steady_clock::time_point* progress) {
  std::size_t index = 0;
  while (index < buffers.size()) {
    if (buffers[index].size() == 0) {
      ++index;
      continue;
    }
    const Transfer t = co_await stream.write_some(std::span<const asio::const_buffer>(buffers).subspan(index));
    if (t.ec) co_return t.ec;
    if (progress) *progress = std::chrono::steady_clock::now();
    std::size_t n = t.bytes;
    while (n > 0 && index < buffers.size()) {
      const std::size_t step = std::min(n, buffers[index].size());
      buffers[index] += step;
      n -= step;
      if (buffers[index].size() == 0) ++index;
    }
  }
  co_return boost::system::error_code{};
}

std::unique_ptr<Stream> make_stream(tcp::socket socket, std::shared_ptr<const TlsContext> tls,
                                    const std::string& peer_host) {
  if (!tls) return std::make_unique<PlainStream>(std::move(socket));
  return std::make_unique<TlsStream>(std::move(socket), std::move(tls), peer_host);
}

}  // namespace tandem::net
