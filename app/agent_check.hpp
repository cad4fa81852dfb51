#pragma once
// HAProxy's agent-check for a cloud daemon (docs/design.md §12). HAProxy
// connects to the agent port every `inter`, reads one ASCII line and closes:
//
//   up 75%\n    serving; the percentage scales the server's configured weight
//   drain\n     stopping: no new connections, the open ones finish
//   down\n      cannot serve (models still loading, or stopped)
//
// The weight follows the daemon's load: with q requests waiting, s in
// service, w workers and a recent service time t (ms, a moving average), a
// new request can expect to wait W = (q + s) · t / w ms before a worker takes
// it, and the agent reports
//
//   weight% = round(100 · R / (R + W)), clamped to [1, 100]
//
// where R (`reference_ms`, `--agent-reference`) is the wait at which the
// weight halves. An idle cloud is 100%; never 0%, which HAProxy would treat as
// drain: an overloaded cloud that still serves keeps a trickle.

#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>

#include "app/endpoint.hpp"
#include "app/side_server.hpp"
#include "net/messages.hpp"

namespace tandem::app {

/// Where a daemon is in its life, as the agent reports it.
enum class AgentState {
  starting,  // models loading, not listening yet: "down"
  ready,     // serving: "up N%"
  draining,  // stopping; in-flight requests finish: "drain"
  stopped,   // no longer serving: "down"
};

/// The weight percentage of the formula above, 1..100. `workers` of 0 counts as 1.
int agent_weight_percent(const net::CloudLoad& load, std::size_t workers, double reference_ms);

/// The agent's line for `state` (with the weight when ready), ending in '\n'.
std::string agent_reply(AgentState state, const net::CloudLoad& load, std::size_t workers, double reference_ms);

/// The state and load the agent reports. Thread-safe; reply() may run on the
/// agent's I/O thread while the daemon changes state.
class AgentStatus {
 public:
  AgentStatus(std::size_t workers, double reference_ms);

  /// Ready: the load comes from `load` (called under a lock by reply(), so
  /// what it reads must live until stop()).
  void serve(std::function<net::CloudLoad()> load);
  /// Draining: the agent says "drain".
  void drain();
  /// Stopped: the agent says "down" and the load source is dropped.
  void stop();
  AgentState state() const;
  /// The line for the current state and load.
  std::string reply() const;

 private:
  const std::size_t workers_;
  const double reference_ms_;
  mutable std::mutex mutex_;
  AgentState state_ = AgentState::starting;
  std::function<net::CloudLoad()> load_;
};

/// Answers HAProxy's agent-check: every connection gets reply() (the line of
/// an AgentStatus), then the agent closes after the peer does or after
/// `timeout`, whichever is first. Anything HAProxy sends (`agent-send`) is
/// read and ignored, up to 1 KiB. At most `max_connections` are open at once.
class AgentCheckServer {
 public:
  /// Listens on `endpoint` (port 0: the OS picks). `reply` runs on the I/O
  /// thread. Throws std::runtime_error naming the address when it cannot listen.
  AgentCheckServer(const Endpoint& endpoint, std::function<std::string()> reply,
                   std::chrono::milliseconds timeout = std::chrono::seconds(2), std::size_t max_connections = 16);
  /// Closes the listener and every connection; joins the I/O thread.
  ~AgentCheckServer() = default;
  AgentCheckServer(const AgentCheckServer&) = delete;
  AgentCheckServer& operator=(const AgentCheckServer&) = delete;

  /// The bound port.
  std::uint16_t port() const { return server_.port(); }

 private:
  boost::asio::awaitable<void> serve(boost::asio::ip::tcp::socket& socket);

  std::function<std::string()> reply_;
  SideServer server_;  // last: stops before the rest goes
};

}  // namespace tandem::app
