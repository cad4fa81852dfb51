#include "net/listen.hpp"

#include <boost/asio/error.hpp>

namespace tandem::net {
namespace asio = boost::asio;
using tcp = asio::ip::tcp;

boost::system::error_code listen_on(tcp::acceptor& acceptor, const std::string& host,
                                    std::uint16_t port) {
  boost::system::error_code ec;
  tcp::resolver resolver(acceptor.get_executor());
  const auto endpoints = resolver.resolve(host, std::to_string(port), tcp::resolver::passive, ec);
  if (ec) return ec;
  if (endpoints.empty()) return asio::error::host_not_found;
  const tcp::endpoint endpoint = endpoints.begin()->endpoint();
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    boost::system::error_code ignored;
    acceptor.close(ignored);
  }
  return ec;
}

bool is_loopback_host(const std::string& host) {
  if (host == "localhost") return true;
  boost::system::error_code ec;
  const auto address = asio::ip::make_address(host, ec);
  return !ec && address.is_loopback();
}

}  // namespace tandem::net
