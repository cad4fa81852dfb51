#include "net/process.hpp"

#include <csignal>
#include <ctime>

namespace tandem::net {

boost::system::error_code listen_on(boost::asio::ip::tcp::acceptor& acceptor,
                                    const std::string& host, std::uint16_t port) {
  namespace asio = boost::asio;
  boost::system::error_code ec;
  const auto address = asio::ip::make_address(host, ec);
  if (ec) return ec;
  const asio::ip::tcp::endpoint endpoint(address, port);
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(asio::ip::tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  return ec;
}

namespace {
sigset_t shutdown_set() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  return set;
}
}  // namespace

ShutdownSignals::ShutdownSignals() {
  const sigset_t set = shutdown_set();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

std::string ShutdownSignals::wait(const std::function<bool()>& should_stop) const {
  const sigset_t set = shutdown_set();
  const timespec poll{0, 100'000'000};
  for (;;) {
    const int sig = sigtimedwait(&set, nullptr, &poll);
    if (sig == SIGINT) return "SIGINT";
    if (sig == SIGTERM) return "SIGTERM";
    if (should_stop && should_stop()) return "stop request";
  }
}

}  // namespace tandem::net
