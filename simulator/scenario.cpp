#include "simulator/scenario.hpp"

#include <charconv>
#include <cmath>
#include <fstream>
#include <set>
#include <stdexcept>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace tandem::sim {
namespace {

using nlohmann::json;

std::string trim(std::string_view text) {
  const auto first = text.find_first_not_of(" \t\r");
  if (first == std::string_view::npos) return {};
  const auto last = text.find_last_not_of(" \t\r");
  return std::string(text.substr(first, last - first + 1));
}

double parse_number(std::string_view text, std::string_view what) {
  double v = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc{} || end != text.data() + text.size() || !(v >= 0) || !std::isfinite(v)) {
    throw std::invalid_argument(fmt::format("{} '{}': expected a non-negative number", what, text));
  }
  return v;
}

// The lines of a trace file without comments and blanks, with their numbers.
template <typename F>
void for_each_line(const std::filesystem::path& path, F f) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error(fmt::format("cannot open {}", path.string()));
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    line = trim(line.substr(0, line.find('#')));
    if (line.empty()) continue;
    try {
      f(line);
    } catch (const std::invalid_argument& e) {
      throw std::runtime_error(fmt::format("{}:{}: {}", path.string(), n, e.what()));
    }
  }
}

std::string_view to_string(Arrivals::Kind k) {
  switch (k) {
    case Arrivals::Kind::poisson: return "poisson";
    case Arrivals::Kind::fixed: return "fixed";
    case Arrivals::Kind::trace: return "trace";
  }
  return "?";
}

std::string_view to_string(Planning p) {
  switch (p) {
    case Planning::automatic: return "auto";
    case Planning::edge_only: return "edge_only";
    case Planning::cloud_only: return "cloud_only";
  }
  return "?";
}

std::string to_string(const Failure& f) {
  return fmt::format("{}:{}@{}s", f.action == Failure::Action::kill ? "kill" : "drain", f.cloud + 1, f.at_s);
}

}  // namespace

std::string_view to_string(Scheduler scheduler) {
  return scheduler == Scheduler::timeline ? "timeline" : "alone";
}

std::optional<Scheduler> scheduler_from_string(std::string_view text) {
  if (text == "timeline") return Scheduler::timeline;
  if (text == "alone") return Scheduler::alone;
  return std::nullopt;
}

std::vector<LinkShare> parse_link_mix(const std::string& text) {
  if (text == "4g") {
    return {{units::parse_link("1.1mbit,rtt=40ms"), 1},
            {units::parse_link("5.85mbit,rtt=40ms"), 2},
            {units::parse_link("18.88mbit,rtt=40ms"), 1}};
  }
  if (text == "wifi") return {{units::parse_link("18.88mbit,rtt=10ms"), 1}};
  if (text == "lan") return {{units::parse_link("100mbit,rtt=1ms"), 1}};
  std::vector<LinkShare> out;
  std::string_view rest = text;
  while (!rest.empty()) {
    const auto semi = rest.find(';');
    const std::string item = trim(rest.substr(0, semi));
    rest = semi == std::string_view::npos ? std::string_view{} : rest.substr(semi + 1);
    if (item.empty()) continue;
    const auto colon = item.rfind(':');
    LinkShare share;
    share.link = units::parse_link(colon == std::string::npos ? item : item.substr(0, colon));
    if (colon != std::string::npos) share.weight = parse_number(item.substr(colon + 1), "link weight");
    if (!share.link.bytes_per_s) {
      throw std::invalid_argument(fmt::format("link '{}' has no rate (e.g. 5.85mbit,rtt=40ms)", item));
    }
    out.push_back(share);
  }
  if (out.empty()) throw std::invalid_argument(fmt::format("link mix '{}' names no link", text));
  return out;
}

std::vector<LinkTracePoint> load_link_trace(const std::filesystem::path& path) {
  std::vector<LinkTracePoint> out;
  for_each_line(path, [&](const std::string& line) {
    const auto space = line.find_first_of(" \t");
    if (space == std::string::npos) throw std::invalid_argument("expected 'SECONDS LINK'");
    LinkTracePoint p{parse_number(line.substr(0, space), "time"), units::parse_link(trim(line.substr(space)))};
    if (!p.link.bytes_per_s) throw std::invalid_argument("the link has no rate");
    if (!out.empty() && p.at_s <= out.back().at_s) throw std::invalid_argument("times must ascend");
    out.push_back(p);
  });
  if (out.empty()) throw std::runtime_error(fmt::format("{}: no link in the trace", path.string()));
  return out;
}

std::vector<double> load_arrival_trace(const std::filesystem::path& path) {
  std::vector<double> out;
  for_each_line(path, [&](const std::string& line) {
    const double t = parse_number(line, "arrival time");
    if (!out.empty() && t < out.back()) throw std::invalid_argument("arrival times must not go back");
    out.push_back(t);
  });
  if (out.empty()) throw std::runtime_error(fmt::format("{}: no arrival in the trace", path.string()));
  return out;
}

std::vector<std::pair<double, double>> load_background_trace(const std::filesystem::path& path) {
  std::vector<std::pair<double, double>> out;
  for_each_line(path, [&](const std::string& line) {
    const auto space = line.find_first_of(" \t");
    if (space == std::string::npos) throw std::invalid_argument("expected 'SECONDS THREADS'");
    const double t = parse_number(line.substr(0, space), "time");
    const double threads = parse_number(trim(line.substr(space)), "threads");
    if (!(threads >= 0)) throw std::invalid_argument("threads must be >= 0");
    if (!out.empty() && t <= out.back().first) throw std::invalid_argument("times must ascend");
    out.emplace_back(t, threads);
  });
  if (out.empty()) throw std::runtime_error(fmt::format("{}: no point in the background trace", path.string()));
  return out;
}

Failure parse_failure(const std::string& text) {
  const auto colon = text.find(':');
  const auto at = text.find('@');
  if (colon == std::string::npos || at == std::string::npos || at < colon) {
    throw std::invalid_argument(fmt::format("failure '{}': expected kill:CLOUD@TIME or drain:CLOUD@TIME, e.g. kill:2@30s", text));
  }
  Failure f;
  const std::string action = text.substr(0, colon);
  if (action == "kill") {
    f.action = Failure::Action::kill;
  } else if (action == "drain") {
    f.action = Failure::Action::drain;
  } else {
    throw std::invalid_argument(fmt::format("failure '{}': the action is kill or drain", text));
  }
  const double cloud = parse_number(text.substr(colon + 1, at - colon - 1), fmt::format("failure '{}': cloud", text));
  if (cloud < 1 || cloud != std::floor(cloud)) {
    throw std::invalid_argument(fmt::format("failure '{}': clouds are numbered from 1", text));
  }
  f.cloud = static_cast<std::size_t>(cloud) - 1;
  f.at_s = units::parse_duration_ms(text.substr(at + 1)) / 1e3;
  return f;
}

void validate(const Scenario& s) {
  const auto bad = [](const std::string& why) { throw std::invalid_argument(why); };
  if (s.edges < 1) bad("edges must be at least 1");
  if (s.clouds < 1) bad("clouds must be at least 1");
  if (s.models.empty()) bad("models: name at least one model");
  if (s.cloud_workers < 1) bad("cloud_workers must be at least 1");
  if (!(s.duration_s > 0)) bad("duration must be above 0s");
  if (s.arrivals.kind == Arrivals::Kind::trace) {
    if (s.arrivals.trace_s.empty()) bad("arrivals: a trace needs arrival times");
  } else if (!(s.arrivals.rate_per_s > 0) || !std::isfinite(s.arrivals.rate_per_s)) {
    bad("rate must be above 0 tasks/s per edge");
  }
  for (const double o : s.arrivals.offsets_s) {
    if (!(o >= 0) || !(o < s.duration_s)) bad("arrival_offsets: each must be at least 0 s and below the duration");
  }
  if (s.link_trace.empty()) {
    if (s.link_mix.empty()) bad("link_mix: name at least one link");
    double total = 0;
    for (const auto& l : s.link_mix) {
      if (!l.link.bytes_per_s || !(*l.link.bytes_per_s > 0)) bad("link_mix: every link needs a rate");
      if (!(l.weight >= 0)) bad("link_mix: weights must not be negative");
      total += l.weight;
    }
    if (!(total > 0)) bad("link_mix: the weights add up to 0");
  }
  if (!(s.compute_noise >= 0 && s.compute_noise < 3)) bad("compute_noise must be in [0, 3)");
  if (!(s.edge_compute_scale >= 0.1 && s.edge_compute_scale <= 10) ||
      !(s.cloud_compute_scale >= 0.1 && s.cloud_compute_scale <= 10)) {
    bad("edge_compute_scale and cloud_compute_scale must be in [0.1, 10]");
  }
  if (s.batch_window < 1 || s.batch_window > 64) bad("batch_window must be between 1 and 64 (as edge_daemon)");
  if (!(s.probe_interval_s > 0) || !(s.agent_inter_s > 0)) bad("probe_interval and agent_inter must be above 0s");
  if (!(s.agent_reference_ms > 0)) bad("agent_reference must be above 0ms");
  if (!(s.drain_grace_s >= 0) || !(s.reconnect_backoff_ms > 0)) bad("drain_grace must be >= 0s, reconnect_backoff above 0ms");
  if (!(s.host_cores >= 0) || !(s.host_background >= 0)) bad("host_cores and host_background must be >= 0");
  if (s.host_cores > 4096 || s.host_cores != std::floor(s.host_cores)) {
    bad("host_cores must be a whole number of cores, at most 4096 (0: each daemon its own processor)");
  }
  for (const Failure& f : s.failures) {
    if (f.cloud >= s.clouds) {
      bad(fmt::format("failure {}: there are only {} cloud(s)", to_string(f), s.clouds));
    }
  }
}

Scenario load_scenario(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error(fmt::format("cannot open scenario {}", path.string()));
  const auto fail = [&](const std::string& field, const std::string& why) {
    throw std::runtime_error(fmt::format("scenario {}: {}: {}", path.string(), field, why));
  };
  json j;
  try {
    j = json::parse(in);
  } catch (const json::exception& e) {
    throw std::runtime_error(fmt::format("scenario {}: not JSON: {}", path.string(), e.what()));
  }
  if (!j.is_object()) fail("(top level)", "expected an object");
  static const std::set<std::string> known{
      "edges", "clouds", "models", "shuffle_models", "arrivals", "rate", "arrival_trace", "arrival_offsets", "duration",
      "link_mix", "links_in_turn", "link_trace", "cloud_workers", "compute_noise",
      "edge_compute_scale", "cloud_compute_scale", "planning", "objective", "codec", "pipeline", "calibrate",
      "scheduler", "batch_window", "heavy_backlog", "probe_interval", "agent_inter", "agent_reference", "drain_grace", "reconnect_backoff",
      "failures", "host_cores", "host_background", "host_background_trace", "seed"};
  Scenario s;
  const auto dir = path.parent_path();
  for (const auto& [key, value] : j.items()) {
    if (!known.contains(key)) fail(key, fmt::format("unknown field (known: {})", fmt::join(known, ", ")));
    try {
      const auto duration_s = [&] { return units::parse_duration_ms(value.get<std::string>()) / 1e3; };
      if (key == "edges") s.edges = value.get<std::size_t>();
      else if (key == "clouds") s.clouds = value.get<std::size_t>();
      else if (key == "models") s.models = value.get<std::vector<std::string>>();
      else if (key == "shuffle_models") s.shuffle_models = value.get<bool>();
      else if (key == "arrivals") {
        const auto kind = value.get<std::string>();
        if (kind == "poisson") s.arrivals.kind = Arrivals::Kind::poisson;
        else if (kind == "fixed") s.arrivals.kind = Arrivals::Kind::fixed;
        else if (kind == "trace") s.arrivals.kind = Arrivals::Kind::trace;
        else fail(key, "poisson, fixed or trace");
      } else if (key == "rate") s.arrivals.rate_per_s = value.get<double>();
      else if (key == "arrival_trace") s.arrivals.trace_s = load_arrival_trace(dir / value.get<std::string>());
      else if (key == "arrival_offsets") {
        s.arrivals.offsets_s.clear();
        for (const auto& t : value.get<std::vector<std::string>>()) {
          s.arrivals.offsets_s.push_back(units::parse_duration_ms(t) / 1e3);
        }
      } else if (key == "duration") s.duration_s = duration_s();
      else if (key == "link_mix") s.link_mix = parse_link_mix(value.get<std::string>());
      else if (key == "links_in_turn") s.links_in_turn = value.get<bool>();
      else if (key == "link_trace") s.link_trace = load_link_trace(dir / value.get<std::string>());
      else if (key == "cloud_workers") s.cloud_workers = value.get<std::size_t>();
      else if (key == "compute_noise") s.compute_noise = value.get<double>();
      else if (key == "edge_compute_scale") s.edge_compute_scale = value.get<double>();
      else if (key == "cloud_compute_scale") s.cloud_compute_scale = value.get<double>();
      else if (key == "planning") {
        const auto p = value.get<std::string>();
        if (p == "auto") s.planning = Planning::automatic;
        else if (p == "edge_only") s.planning = Planning::edge_only;
        else if (p == "cloud_only") s.planning = Planning::cloud_only;
        else fail(key, "auto, edge_only or cloud_only");
      } else if (key == "objective") value.get_to(s.objective);
      else if (key == "codec") value.get_to(s.codec);
      else if (key == "pipeline") s.pipeline = value.get<bool>();
      else if (key == "calibrate") s.calibrate = value.get<bool>();
      else if (key == "scheduler") {
        const auto scheduler = scheduler_from_string(value.get<std::string>());
        if (!scheduler) fail(key, "timeline or alone");
        s.scheduler = *scheduler;
      } else if (key == "batch_window") s.batch_window = value.get<std::size_t>();
      else if (key == "heavy_backlog") s.heavy_backlog = value.get<std::size_t>();
      else if (key == "probe_interval") s.probe_interval_s = duration_s();
      else if (key == "agent_inter") s.agent_inter_s = duration_s();
      else if (key == "agent_reference") s.agent_reference_ms = duration_s() * 1e3;
      else if (key == "drain_grace") s.drain_grace_s = duration_s();
      else if (key == "reconnect_backoff") s.reconnect_backoff_ms = duration_s() * 1e3;
      else if (key == "failures") {
        for (const auto& f : value) s.failures.push_back(parse_failure(f.get<std::string>()));
      } else if (key == "host_cores") s.host_cores = value.get<double>();
      else if (key == "host_background") s.host_background = value.get<double>();
      else if (key == "host_background_trace") s.host_background_trace = load_background_trace(dir / value.get<std::string>());
      else if (key == "seed") s.seed = value.get<std::uint64_t>();
    } catch (const json::exception& e) {
      fail(key, e.what());
    } catch (const std::invalid_argument& e) {
      fail(key, e.what());
    }
  }
  if (!j.contains("link_mix") && !j.contains("link_trace")) s.link_mix = parse_link_mix("4g");
  try {
    validate(s);
  } catch (const std::invalid_argument& e) {
    throw std::runtime_error(fmt::format("scenario {}: {}", path.string(), e.what()));
  }
  return s;
}

json to_json(const Scenario& s) {
  json links = json::array();
  for (const auto& l : s.link_mix) links.push_back({{"link", units::to_string(l.link)}, {"weight", l.weight}});
  json failures = json::array();
  for (const auto& f : s.failures) failures.push_back(to_string(f));
  return {{"edges", s.edges},
          {"clouds", s.clouds},
          {"models", s.models},
          {"shuffle_models", s.shuffle_models},
          {"arrivals", to_string(s.arrivals.kind)},
          {"rate", s.arrivals.rate_per_s},
          {"arrival_trace_points", s.arrivals.trace_s.size()},
          {"arrival_offsets_s", s.arrivals.offsets_s},
          {"duration_s", s.duration_s},
          {"link_mix", links},
          {"links_in_turn", s.links_in_turn},
          {"link_trace_points", s.link_trace.size()},
          {"cloud_workers", s.cloud_workers},
          {"compute_noise", s.compute_noise},
          {"edge_compute_scale", s.edge_compute_scale},
          {"cloud_compute_scale", s.cloud_compute_scale},
          {"planning", to_string(s.planning)},
          {"objective", s.objective},
          {"codec", s.codec},
          {"pipeline", s.pipeline},
          {"calibrate", s.calibrate},
          {"scheduler", to_string(s.scheduler)},
          {"batch_window", s.batch_window},
          {"heavy_backlog", s.heavy_backlog},
          {"probe_interval_s", s.probe_interval_s},
          {"agent_inter_s", s.agent_inter_s},
          {"agent_reference_ms", s.agent_reference_ms},
          {"drain_grace_s", s.drain_grace_s},
          {"reconnect_backoff_ms", s.reconnect_backoff_ms},
          {"failures", failures},
          {"host_cores", s.host_cores},
          {"host_background", s.host_background},
          {"host_background_trace_points", s.host_background_trace.size()},
          {"seed", s.seed}};
}

}  // namespace tandem::sim
