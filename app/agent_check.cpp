#include "app/agent_check.hpp"

#include <algorithm>
#include <array>
#include <cmath>

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <fmt/format.h>

namespace tandem::app {

namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

constexpr int k_min_percent = 1;  // 0% would mean drain to HAProxy
constexpr int k_max_percent = 100;
constexpr std::size_t k_max_ignored_input = 1024;

}  // namespace

int agent_weight_percent(const net::CloudLoad& load, std::size_t workers, double reference_ms) {
  const double per_worker = 1.0 / static_cast<double>(std::max<std::size_t>(workers, 1));
  const double service_ms = std::max(0.0, load.recent_service_ms);
  const double wait_ms = static_cast<double>(load.queue_length + load.in_service) * service_ms * per_worker;
  const double r = std::max(reference_ms, 1e-9);
  const double percent = 100.0 * r / (r + wait_ms);
  return std::clamp(static_cast<int>(std::lround(percent)), k_min_percent, k_max_percent);
}

std::string agent_reply(AgentState state, const net::CloudLoad& load, std::size_t workers, double reference_ms) {
  switch (state) {
    case AgentState::ready:
      return fmt::format("up {}%\n", agent_weight_percent(load, workers, reference_ms));
    case AgentState::draining:
      return "drain\n";
    case AgentState::starting:
    case AgentState::stopped:
      return "down\n";
  }
  return "down\n";
}

AgentStatus::AgentStatus(std::size_t workers, double reference_ms) : workers_(workers), reference_ms_(reference_ms) {}

void AgentStatus::serve(std::function<net::CloudLoad()> load) {
  std::lock_guard lock(mutex_);
  load_ = std::move(load);
  state_ = AgentState::ready;
}

void AgentStatus::drain() {
  std::lock_guard lock(mutex_);
  state_ = AgentState::draining;
}

void AgentStatus::stop() {
  std::lock_guard lock(mutex_);
  state_ = AgentState::stopped;
  load_ = nullptr;
}

AgentState AgentStatus::state() const {
  std::lock_guard lock(mutex_);
  return state_;
}

std::string AgentStatus::reply() const {
  std::lock_guard lock(mutex_);
  const net::CloudLoad load = (state_ == AgentState::ready && load_) ? load_() : net::CloudLoad{};
  return agent_reply(state_, load, workers_, reference_ms_);
}

AgentCheckServer::AgentCheckServer(const Endpoint& endpoint, std::function<std::string()> reply,
                                   std::chrono::milliseconds timeout, std::size_t max_connections)
    : reply_(std::move(reply)),
      server_(endpoint, "agent-check", [this](tcp::socket& socket) { return serve(socket); },
              SideServerLimits{timeout, max_connections}) {}

asio::awaitable<void> AgentCheckServer::serve(tcp::socket& socket) {
  boost::system::error_code ec;
  const std::string line = reply_();
  co_await asio::async_write(socket, asio::buffer(line), asio::redirect_error(asio::use_awaitable, ec));
  if (ec) co_return;
  socket.shutdown(tcp::socket::shutdown_send, ec);
  // Let HAProxy close first (reading what it may have sent), so our close does
  // not reset the connection before it has read the line.
  std::array<char, 256> sink{};
  std::size_t ignored = 0;
  while (!ec && ignored < k_max_ignored_input) {
    ignored += co_await socket.async_read_some(asio::buffer(sink), asio::redirect_error(asio::use_awaitable, ec));
  }
}

}  // namespace tandem::app
