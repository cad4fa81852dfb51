#pragma once
// The simulator engine's state (engine.hpp): its random streams, events,
// and what it keeps per task, edge and cloud; and the summary of a finished
// run (results.cpp). Internal to simulator/; torch-free.

#include <cmath>
#include <cstdint>
#include <deque>
#include <unordered_set>
#include <vector>

#include "net/messages.hpp"
#include "partition/schedule.hpp"
#include "planner/compute_monitor.hpp"
#include "simulator/host.hpp"
#include "simulator/simulator.hpp"

namespace tandem::sim::detail {

constexpr double k_service_ewma_alpha = 0.2;  // as net::ServerState
constexpr double k_max_backoff_ms = 2000;     // as CloudLinkConfig::max_backoff
constexpr double k_connect_rtts = 2;          // TCP through HAProxy, then CHALLENGE / HELLO / HELLO_ACK
constexpr double k_drain_horizon_s = 3600;    // a run that has not ended this long after the arrivals stopped has lost tasks

// SplitMix64: a counter-based stream, the same on every machine.
class Rng {
 public:
  explicit Rng(std::uint64_t seed) : state_(seed) {}
  std::uint64_t next() {
    std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }  // [0, 1)
  double exponential(double rate) { return -std::log1p(-uniform()) / rate; }
  double normal() {
    const double u1 = 1.0 - uniform(), u2 = uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2);
  }
  /// A mean-one log-normal factor of spread `sigma` (1 when sigma is 0).
  double noise(double sigma) { return sigma > 0 ? std::exp(sigma * normal() - sigma * sigma / 2) : 1.0; }

 private:
  std::uint64_t state_;
};

inline std::uint64_t stream_seed(std::uint64_t seed, std::uint64_t kind, std::uint64_t index) {
  Rng mix(seed ^ (kind * 0x632be59bd9b4e019ULL) ^ (index * 0x8cb92ba72f3d8dd7ULL));
  return mix.next();
}

enum class Ev : std::uint8_t {
  arrival, compute_done, cloud_arrive, service_done, reply, failure, drain_stop, connected, reconnect, probe, agent_poll,
  cpu_done, background,
};

struct Event {
  double t;
  std::uint64_t seq;
  Ev kind;
  std::uint32_t a;  // edge, cloud or failure index
  std::uint32_t b;  // task
  bool operator>(const Event& o) const { return t != o.t ? t > o.t : seq > o.seq; }
};

// Costs of one (model, cut), from the profiles.
struct Side {
  partition::Placement placement;
  double edge_ms = 0;      // edge profile: the edge side
  double cloud_ms = 0;     // cloud profile: the cloud side
  double fallback_ms = 0;  // edge profile: the cloud side run on the edge
  double up_bytes = 0, down_bytes = 0;
  partition::CutWork work;  // what the edge's timeline scheduler sees of the cut
};

struct Task {
  const Side* side = nullptr;
  std::int32_t cloud = -1;
  std::uint64_t connection = 0;  // the edge's connection it was sent on
  bool fallback_pending = false;
  bool failed = false;           // lost at the cloud (kill): its cloud events are void
  bool refused = false;
  bool serving = false;          // a cloud worker is computing it
  bool arrived = false;          // its request reached the cloud (queued, in service or answered)
  net::CloudLoad reply_load;
  double service_start_s = 0;
  double service_ms = 0;         // its cloud compute, as the reply reports it
  double upload_end_s = 0;       // its crossing tensors are written by then
  std::size_t overtaken = 0;     // later tasks dispatched before it (timeline)
};

struct EdgeState {
  Rng rng{0};
  std::size_t link = 0;       // index into link_mix
  double trace_offset_s = 0;  // into link_trace
  std::deque<std::uint32_t> queue;
  bool busy = false, awaiting_cloud = false, heavy = false;
  double uplink_free_s = 0;
  std::int32_t cloud = -1;  // connected to; -1 not connected
  std::int32_t connecting_to = -1;  // a connection under way
  std::uint64_t connection = 0;
  double backoff_ms = 0;
  std::uint32_t in_flight = 0;  // requests with the cloud on this connection
  std::deque<std::uint32_t> sent;  // sent to the cloud, no reply yet, in send order
  net::CloudLoad known_load;
  // How fast its tasks really computed against the profiles, each side
  // (Scenario::calibrate; the daemon's own monitor).
  planner::ComputeMonitor compute;
  std::uint64_t next_index = 0;
  std::size_t next_trace = 0;
};

struct CloudState {
  Rng rng{0};
  bool alive = true, draining = false, stopping = false;
  std::deque<std::uint32_t> queue;
  std::size_t in_service = 0;
  double recent_service_ms = 0;
  std::unordered_set<std::uint32_t> tasks;  // sent to it and not yet replied
  std::unordered_set<std::uint32_t> edges;  // connected
  int agent_weight = 100;                   // HAProxy's view at the last agent-check
  bool agent_drain = false;
  double down_at_s = -1;
  CloudSummary summary;
  net::CloudLoad load() const {
    return {static_cast<std::uint32_t>(queue.size()), static_cast<std::uint32_t>(in_service), recent_service_ms};
  }
};

/// Host::Job::group of the daemons' computing jobs.
inline constexpr std::size_t k_edge_jobs = 0, k_cloud_jobs = 1;

/// The run's SimResult from its task records and clouds: latency
/// percentiles, throughput, placements, the compute stretches as
/// bench/cluster/analyse.py computes them for a measured run, and each
/// cloud's utilisation over the time it was up, and the cores the daemons
/// held on `host` (none: no shared host).
SimResult summarise(std::vector<TaskRecord> records, const std::vector<CloudState>& clouds, std::size_t cloud_workers,
                    const Host* host, double now_s, std::uint64_t events);

}  // namespace tandem::sim::detail
