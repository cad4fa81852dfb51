#pragma once
// What the simulator simulates (docs/design.md §13): E edges and C clouds,
// how tasks arrive at each edge, each edge's uplink, the clouds' workers,
// HAProxy's checks, the failures, and how the edges plan. Plain values;
// `tandem simulate` fills them from flags or a scenario file (JSON).

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "partition/cost_model.hpp"
#include "units/units.hpp"

namespace tandem::sim {

/// How tasks arrive at each edge.
struct Arrivals {
  enum class Kind {
    poisson,  // exponential gaps of mean 1/rate, independent per edge
    fixed,    // every 1/rate s, each edge from a random phase in [0, 1/rate) (0 with one edge)
    trace,    // the times in `trace_s` (s from the start), the same for every edge
  };
  Kind kind = Kind::poisson;
  double rate_per_s = 1;        // per edge (poisson, fixed)
  std::vector<double> trace_s;  // ascending (trace)
  // When each edge starts, s: edge e's arrivals begin offsets_s[e mod n]
  // later (a trace's times shifted by it; fixed: instead of the random phase;
  // Poisson: the first gap counts from it). Empty: every edge starts at 0
  // (fixed: a random phase). bench/cluster.sh records the offsets it gave
  // each `tandem submit --start-at`, so a simulation can use the same.
  std::vector<double> offsets_s;
};

/// One kind of uplink and the share of edges that have it.
struct LinkShare {
  units::Link link;  // rate (must be set) and round trip
  double weight = 1;
};

/// A link that changes over time: (time s, link) points; each edge follows it
/// from its own random offset, wrapping around at the end.
struct LinkTracePoint {
  double at_s = 0;
  units::Link link;
};

/// A failure injected at a time.
struct Failure {
  enum class Action {
    kill,   // SIGKILL: connections drop, everything at that cloud fails (edges fall back)
    drain,  // SIGTERM: agent says drain, after the grace refuses new requests, finishes the rest, stops
  };
  double at_s = 0;
  std::size_t cloud = 0;  // 0-based
  Action action = Action::kill;
};

/// How the edges plan each task (the edge daemon's planning, or a forced plan).
enum class Planning { automatic, edge_only, cloud_only };

/// How automatic plans are made, as edge_daemon --scheduler: `timeline` (the
/// daemon's default) plans the waiting tasks on the edge's timeline of its
/// CPU, uplink and cloud, choosing order and cuts together; `alone` plans each
/// task as if it were alone, with the light/heavy switch on a backlog.
enum class Scheduler { timeline, alone };
/// "timeline" / "alone" (edge_daemon --scheduler's names).
std::string_view to_string(Scheduler scheduler);
/// Parses a scheduler name; std::nullopt otherwise.
std::optional<Scheduler> scheduler_from_string(std::string_view text);

struct Scenario {
  std::size_t edges = 1;
  std::size_t clouds = 1;
  std::vector<std::string> models;  // zoo names; task i of an edge runs models[i % n] (or a seeded draw)
  bool shuffle_models = false;
  Arrivals arrivals;
  double duration_s = 60;  // arrivals stop here; the run goes on until every task has ended
  std::vector<LinkShare> link_mix;         // each edge draws one (seeded), or takes them in turn
  bool links_in_turn = false;              // edge i gets link_mix[i % n] (weights ignored)
  std::vector<LinkTracePoint> link_trace;  // if set, replaces link_mix
  std::size_t cloud_workers = 1;           // requests each cloud computes at once
  double compute_noise = 0;                // sigma of a log-normal factor on every compute time (0: exact)
  // How fast the devices compute against their profiles: every edge (cloud)
  // compute time is the profile's figure times this (> 1: the machine runs
  // slower than when it was profiled, as a shared VM drifts; a measured
  // cluster's value comes from bench/cluster/speed.py). The simulated edges
  // learn it as the daemons do (calibrate).
  double edge_compute_scale = 1;
  double cloud_compute_scale = 1;
  Planning planning = Planning::automatic;
  partition::Objective objective = partition::Objective::latency;
  partition::Codec codec = partition::Codec::fp32;
  bool pipeline = true;           // as edge_daemon (--no-pipeline: false)
  bool calibrate = true;          // as edge_daemon (--no-calibrate: false): compute scaled by what the edge measured
  Scheduler scheduler = Scheduler::timeline;  // as edge_daemon --scheduler
  std::size_t batch_window = 16;  // as edge_daemon --batch-window (timeline)
  std::size_t heavy_backlog = 4;  // as edge_daemon --heavy-backlog (alone; 0: never)
  double probe_interval_s = 0.5;  // an idle edge learns its cloud's load this often (STATUS), as edge_daemon
  double agent_inter_s = 1;       // HAProxy's agent-check interval
  double agent_reference_ms = 100;
  double drain_grace_s = 2;
  double reconnect_backoff_ms = 100;  // the edge's first retry delay
  std::vector<Failure> failures;
  // One host for every daemon (a cluster on one machine, as bench/cluster.sh):
  // 0 gives each daemon a processor of its own (a fleet). Otherwise all
  // compute shares `host_cores` cores (a whole number) with `host_background`
  // other runnable threads (nice-0 equivalents), each core time-shared by the
  // threads queued on it (simulator/host.hpp, docs/design.md §13).
  double host_cores = 0;
  double host_background = 0;
  // If set, replaces host_background: (time s, threads) points, a step
  // function holding each value until the next (bench/cluster.sh samples it).
  std::vector<std::pair<double, double>> host_background_trace;
  std::uint64_t seed = 1;
};

/// The built-in link mixes by name: "4g" (1.1 / 5.85 / 18.88 mbit at 25% /
/// 50% / 25%, 40 ms RTT), "wifi" (18.88 mbit, 10 ms), "lan" (100 mbit,
/// 1 ms). Otherwise a list "LINK[:WEIGHT];LINK[:WEIGHT]..." in units'
/// link syntax, e.g. "5.85mbit,rtt=40ms:3;1.1mbit,rtt=80ms:1". Throws
/// std::invalid_argument naming the text.
std::vector<LinkShare> parse_link_mix(const std::string& text);

/// Reads a link trace: one "SECONDS LINK" line each (# comments), ascending.
/// Throws std::runtime_error naming the file and line.
std::vector<LinkTracePoint> load_link_trace(const std::filesystem::path& path);

/// Reads arrival times: one number of seconds a line (# comments), ascending.
/// Throws std::runtime_error naming the file and line.
std::vector<double> load_arrival_trace(const std::filesystem::path& path);

/// Reads a background trace: one "SECONDS THREADS" line each (# comments),
/// times ascending, threads >= 0. Throws std::runtime_error naming the file and line.
std::vector<std::pair<double, double>> load_background_trace(const std::filesystem::path& path);

/// Parses a failure "kill:CLOUD@TIME" or "drain:CLOUD@TIME" (CLOUD 1-based,
/// as scripts/cluster.sh names them; TIME in duration units). Throws
/// std::invalid_argument naming the text.
Failure parse_failure(const std::string& text);

/// Throws std::invalid_argument naming the first field that is out of range
/// (no edges or clouds, no models, a rate <= 0, a link without a rate, a
/// failure naming a cloud that does not exist, ...).
void validate(const Scenario& scenario);

/// A scenario file: JSON with the fields of Scenario (links and durations in
/// units' syntax). Unknown fields are refused. Throws std::runtime_error
/// naming the file and the field.
Scenario load_scenario(const std::filesystem::path& path);
/// The scenario as JSON (echoed in the results).
nlohmann::json to_json(const Scenario& scenario);

}  // namespace tandem::sim
