#pragma once
// What `tandem simulate` writes: the results as JSON and an SVG plot.

#include <filesystem>

#include <nlohmann/json_fwd.hpp>

#include "simulator/scenario.hpp"
#include "simulator/simulator.hpp"

namespace tandem::sim {

/// The summary as JSON: the scenario, latency percentiles (overall and per
/// model), throughput, placements, fallbacks, lost tasks and each cloud's
/// requests, utilisation, queue and connections.
nlohmann::json to_json(const Scenario& scenario, const SimResult& result);

/// Two panels: the latency CDF, and p50 / p95 latency per second of arrival
/// with the failures marked. Throws std::runtime_error naming the file when
/// it cannot be written.
void write_svg(const std::filesystem::path& path, const Scenario& scenario, const SimResult& result);

/// One line per task: edge, model, cloud (-1: none), arrival_s, start_s,
/// done_s (-1: lost), latency_ms, placement, fallback, heavy. Throws
/// std::runtime_error naming the file when it cannot be written.
void write_tasks_csv(const std::filesystem::path& path, const Scenario& scenario, const SimResult& result);

}  // namespace tandem::sim
