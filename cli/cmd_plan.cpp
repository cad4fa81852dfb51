// tandem plan: the best edge/cloud split of a zoo model under a given link,
// with the alternatives it was chosen from (every split point of a chain, or
// edge-only and cloud-only beside a DAG's min cut), and optionally the
// bandwidth intervals over which that choice stays the same.

#include <algorithm>
#include <charconv>
#include <chrono>
#include <filesystem>
#include <optional>
#include <string_view>
#include <system_error>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/commands.hpp"
#include "partition/chain.hpp"
#include "partition/optimise.hpp"
#include "partition/sweep.hpp"
#include "planner/planner.hpp"
#include "units/units.hpp"

namespace tandem::cli {
namespace {

using partition::Breakdown;
using partition::Codec;
using partition::CostModel;
using partition::Objective;
using partition::Plan;

// The optimiser is timed over repeated calls (one call is a few µs and noisy);
// it stops at whichever bound comes first.
constexpr int k_timing_max_runs = 101;
constexpr double k_timing_budget_us = 200'000;

// Crossing-tensor names listed in a sweep row before eliding the rest.
constexpr std::size_t k_sweep_names_shown = 2;

struct Timed {
  Plan plan;
  double median_us = 0;
  int runs = 0;
};

double us_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count();
}

// Runs the optimiser (the call the edge daemon's planner makes) until the
// run or time budget is spent; returns the plan and the median call time.
Timed time_optimise(const GraphDesc& graph, const CostModel& model, Objective objective) {
  std::vector<double> us;
  std::optional<Plan> plan;
  double spent = 0;
  while (static_cast<int>(us.size()) < k_timing_max_runs && spent < k_timing_budget_us) {
    const auto t0 = std::chrono::steady_clock::now();
    Plan p = partition::optimise(graph, model, objective);
    us.push_back(us_since(t0));
    spent += us.back();
    if (!plan) plan = std::move(p);
  }
  std::nth_element(us.begin(), us.begin() + static_cast<std::ptrdiff_t>(us.size() / 2), us.end());
  return {std::move(*plan), us[us.size() / 2], static_cast<int>(us.size())};
}

using app::UsageError;

// Unit errors are usage errors: name the flag.
template <typename F>
auto parse_text(std::string_view flag, const std::string& text, F parse) {
  try {
    return parse(text);
  } catch (const std::invalid_argument& e) {
    throw UsageError(fmt::format("--{}: {}", flag, e.what()));
  }
}

// "LOW:HIGH" in bandwidth units, LOW < HIGH.
std::pair<double, double> parse_sweep(const std::string& text) {
  const auto colon = text.find(':');
  if (colon == std::string::npos) {
    throw UsageError(fmt::format("--sweep '{}': expected LOW:HIGH, e.g. 1mbit:1gbit", text));
  }
  const double low = parse_text("sweep", text.substr(0, colon), units::parse_bandwidth);
  const double high = parse_text("sweep", text.substr(colon + 1), units::parse_bandwidth);
  if (!(low < high)) throw UsageError(fmt::format("--sweep '{}': LOW must be below HIGH", text));
  return {low, high};
}

// "COMPUTE,TRANSMIT,IDLE" watts, each a plain non-negative decimal.
partition::EdgePower parse_power(const std::string& text) {
  double w[3] = {0, 0, 0};
  std::string_view rest = text;
  for (int i = 0; i < 3; ++i) {
    const auto comma = rest.find(',');
    const std::string_view part = rest.substr(0, comma);
    const auto [end, ec] = std::from_chars(part.data(), part.data() + part.size(), w[i]);
    const bool last = i == 2;
    if (part.empty() || ec != std::errc{} || end != part.data() + part.size() || !(w[i] >= 0) ||
        (comma == std::string_view::npos) != last) {
      throw UsageError(fmt::format("--power '{}': expected COMPUTE,TRANSMIT,IDLE watts, e.g. 2.5,1.2,0.3", text));
    }
    if (!last) rest.remove_prefix(comma + 1);
  }
  return {w[0], w[1], w[2]};
}

// Link time of a breakdown (upload + download + RTT) and cloud-side time
// (queue wait + compute), so that edge + transfer + cloud == total.
double transfer_ms(const Breakdown& b) { return b.upload_ms + b.download_ms + b.rtt_ms; }
double cloud_side_ms(const Breakdown& b) { return b.cloud_wait_ms + b.cloud_ms; }

std::string objective_header(Objective objective) {
  switch (objective) {
    case Objective::latency:
    case Objective::makespan:
      return "";
    case Objective::energy:
      return fmt::format(" {:>10}", "energy mJ");
    case Objective::throughput:
      return fmt::format(" {:>10}", "period ms");
  }
  return "";
}

std::string objective_cell(const Breakdown& b, Objective objective) {
  if (objective == Objective::latency || objective == Objective::makespan) return "";
  return fmt::format(" {:>10.3f}", partition::objective_value(b, objective));
}

std::string shorten(std::string text, std::size_t width) {
  if (text.size() > width) text = text.substr(0, width - 3) + "...";
  return text;
}

std::string crossing_names(const Plan& plan, std::size_t shown) {
  if (plan.crossing.empty()) return "-";
  std::vector<std::string> names;
  for (std::size_t i = 0; i < plan.crossing.size() && i < shown; ++i) names.push_back(plan.crossing[i].name);
  std::string out = fmt::format("{}", fmt::join(names, ","));
  if (plan.crossing.size() > shown) out += fmt::format(" +{}", plan.crossing.size() - shown);
  return out;
}

struct Setup {
  std::string model_name;
  std::string edge_device;
  std::string cloud_device;
  bool uplink_swept = false;    // no --bandwidth: only the sweep is printed
  bool downlink_follows = true; // no --downlink
};

void print_header(const GraphDesc& g, const Setup& s, const CostModel& m, Objective objective) {
  fmt::print("{}: {} nodes, {}; edge '{}', cloud '{}'\n", s.model_name, g.size(), g.is_chain() ? "chain" : "dag",
             s.edge_device, s.cloud_device);
  const std::string up = s.uplink_swept ? "swept" : units::format_bandwidth(m.link.uplink_bytes_per_s);
  const std::string down = s.downlink_follows ? (s.uplink_swept ? "as uplink" : up)
                                              : units::format_bandwidth(m.link.downlink_bytes_per_s);
  fmt::print("link: up {}, down {}, RTT {}, cloud wait {}, codec {}; objective {}\n", up, down,
             units::format_duration_ms(m.link.rtt_ms),
             units::format_duration_ms(m.cloud_wait_ms), partition::to_string(m.codec),
             partition::to_string(objective));
  if (objective == Objective::energy) {
    fmt::print("edge power: compute {} W, transmit {} W, idle {} W\n", m.power.compute_w, m.power.transmit_w,
               m.power.idle_w);
  }
}

void print_chain_table(const GraphDesc& g, const partition::ChainResult& chain, const Plan& best,
                       Objective objective) {
  const std::size_t best_split = best.cut.computed_on_edge();
  fmt::print("\n  {:>5}  {:<24} {:>9} {:>11} {:>11} {:>9} {:>9}{}\n", "split", "last edge node", "edge ms",
             "bytes", "transfer ms", "cloud ms", "total ms", objective_header(objective));
  for (const auto& sp : chain.splits) {
    const Breakdown& b = sp.breakdown;
    const std::string last =
        sp.split == 0 ? "(cloud-only)" : shorten(g.node(static_cast<NodeId>(sp.split)).name, 24);
    fmt::print("{} {:>5}  {:<24} {:>9.3f} {:>11} {:>11.3f} {:>9.3f} {:>9.3f}{}\n",
               sp.split == best_split ? '*' : (sp.allowed ? ' ' : 'x'),
               sp.split, last, b.edge_ms, b.upload_bytes, transfer_ms(b), cloud_side_ms(b), b.total_ms,
               objective_cell(b, objective));
  }
  fmt::print("(split k: nodes 1..k on the edge; bytes uploaded; transfer = upload + download + RTT{}; "
             "cloud = queue wait + compute{})\n",
             best.codec == partition::Codec::fp32 ? "" : " + encode/decode",
             std::any_of(chain.splits.begin(), chain.splits.end(), [](const auto& sp) { return !sp.allowed; })
                 ? "; x: the privacy floor forbids it"
                 : "");
}

void print_dag_table(const GraphDesc& g, const Plan& best, const Plan& edge_only, const Plan& cloud_only,
                     Objective objective) {
  fmt::print("\n  {:<22} {:>10} {:>8} {:>11} {:>9} {:>11} {:>9} {:>9}{}\n", "plan", "edge nodes", "crossing",
             "bytes", "edge ms", "transfer ms", "cloud ms", "total ms", objective_header(objective));
  const auto row = [&](std::string_view label, const Plan& p) {
    const Breakdown& b = p.predicted;
    fmt::print("{} {:<22} {:>10} {:>8} {:>11} {:>9.3f} {:>11.3f} {:>9.3f} {:>9.3f}{}\n",
               p.cut == best.cut ? '*' : ' ', label, p.cut.computed_on_edge(), p.crossing.size(), b.upload_bytes,
               b.edge_ms, transfer_ms(b), cloud_side_ms(b), b.total_ms, objective_cell(b, objective));
  };
  row(fmt::format("best ({})", partition::to_string(best.solver)), best);
  row("edge-only", edge_only);
  row("cloud-only", cloud_only);
  fmt::print("(edge nodes: computed nodes on the edge, of {}; transfer = upload + download + RTT; "
             "cloud = queue wait + compute)\n",
             g.size() - g.input_count());
}

void print_best(const Plan& best, const Timed& timed) {
  const Breakdown& b = best.predicted;
  fmt::print("\nbest: {}", partition::to_string(best.placement));
  if (best.placement == partition::Placement::split) fmt::print(" (edge nodes {})", best.cut.to_string());
  fmt::print(", {} computed on the edge, total {:.3f} ms", best.cut.computed_on_edge(), b.total_ms);
  if (best.objective != Objective::latency) {
    const bool energy = best.objective == Objective::energy;
    fmt::print(", {} {:.3f} {}", energy ? "energy" : "period", best.objective_value, energy ? "mJ" : "ms");
  }
  fmt::print("\n");
  for (const auto& t : best.crossing) {
    fmt::print("  uploads {} (node {}): {}\n", t.name, t.node, units::format_bytes(static_cast<double>(t.bytes)));
  }
  if (!best.exact) {
    fmt::print("  not proven optimal: objective {:.3f}, lower bound {:.3f}\n", best.objective_value, best.lower_bound);
  }
  fmt::print("optimiser ({}): {:.1f} us (median of {} runs)\n", partition::to_string(best.solver), timed.median_us,
             timed.runs);
}

void print_sweep(const std::vector<partition::BandwidthInterval>& intervals, Objective objective, double low,
                 double high, bool downlink_follows, double sweep_us) {
  fmt::print("\nbandwidth sweep {} .. {} ({}, downlink {}): {} interval(s), {:.1f} us\n",
             units::format_bandwidth(low), units::format_bandwidth(high), partition::to_string(objective),
             downlink_follows ? "follows uplink" : "fixed", intervals.size(), sweep_us);
  fmt::print("  {:>14} {:>14}  {:<10} {:>10} {:<30} {:>11} {:>12}\n", "from", "to", "placement", "edge nodes",
             "crossing", "bytes", "value @from");
  for (const auto& in : intervals) {
    const Plan& p = in.plan;
    fmt::print("  {:>14} {:>14}  {:<10} {:>10} {:<30} {:>11} {:>12.3f}\n",
               units::format_bandwidth(in.low_bytes_per_s), units::format_bandwidth(in.high_bytes_per_s),
               partition::to_string(p.placement), p.cut.computed_on_edge(),
               shorten(crossing_names(p, k_sweep_names_shown), 30), p.predicted.upload_bytes, p.objective_value);
  }
}

nlohmann::json link_json(const CostModel& m) {
  return {{"uplink_bytes_per_s", m.link.uplink_bytes_per_s},
          {"downlink_bytes_per_s", m.link.downlink_bytes_per_s},
          {"rtt_ms", m.link.rtt_ms},
          {"cloud_wait_ms", m.cloud_wait_ms},
          {"codec", partition::to_string(m.codec)},
          {"power",
           {{"compute_w", m.power.compute_w}, {"transmit_w", m.power.transmit_w}, {"idle_w", m.power.idle_w}}}};
}

}  // namespace

int cmd_plan(const Args& args, const Context& context) {
  cxxopts::Options options(
      args[0],
      "Choose where to split a model between edge and cloud for a given link, from the\n"
      "device profiles' predicted per-node times. Chains list every split point; DAGs show\n"
      "the min-cut plan beside edge-only and cloud-only.\n"
      "Bandwidths: 5.85mbit, 100kbit/s, 1gbit, 2MB/s, 500KB/s; durations: 150us, 20ms, 1.5s.");
  options.add_options()("model", "a zoo name (see: tandem models), a TorchScript .pt file (with --input), a model of --model-dir, or a graph .json file", cxxopts::value<std::string>(), "MODEL")(
      "edge-profile", "edge device profile",
      cxxopts::value<std::string>()->default_value("profiles/edge.json"), "FILE")(
      "cloud-profile", "cloud device profile",
      cxxopts::value<std::string>()->default_value("profiles/cloud.json"), "FILE")(
      "bandwidth", "uplink bandwidth (edge -> cloud)", cxxopts::value<std::string>(), "BW")(
      "downlink", "downlink bandwidth (default: the uplink's)", cxxopts::value<std::string>(), "BW")(
      "rtt", "round-trip time", cxxopts::value<std::string>()->default_value("0ms"), "TIME")(
      "cloud-wait", "expected queue wait at the cloud", cxxopts::value<std::string>()->default_value("0ms"),
      "TIME")("objective", "latency, energy, throughput or makespan (a batch: same plan as latency for one model)",
              cxxopts::value<std::string>()->default_value("latency"), "OBJ")(
      "codec", "fp32, fp16, int8, fp32+zstd, fp16+zstd or int8+zstd (priced: bytes and encode/decode time)", cxxopts::value<std::string>()->default_value("fp32"),
      "CODEC")("privacy-floor", "nothing before this leaves the edge: none, layers:N or node:NAME (the plan obeys it)",
               cxxopts::value<std::string>()->default_value("none"), "FLOOR")("power", "edge power draw in watts for the energy objective: COMPUTE,TRANSMIT,IDLE",
               cxxopts::value<std::string>(), "W,W,W")(
      "sweep", "also list the bandwidth intervals LOW:HIGH over which the best plan stays the same",
      cxxopts::value<std::string>(), "LOW:HIGH")("json", "print JSON instead of tables");
  add_model_flags(options);
  const auto result = app::parse_args(options, args);
  if (!result) return 0;
  const ModelRef ref = model_ref(*result);
  if (!result->count("bandwidth") && !result->count("sweep")) {
    throw UsageError("--bandwidth is required (or --sweep LOW:HIGH)");
  }

  const auto text = [&](const char* flag) { return (*result)[flag].as<std::string>(); };
  const std::string objective_text = text("objective");
  const auto objective = partition::objective_from_string(objective_text);
  if (!objective) {
    throw UsageError(fmt::format("--objective '{}': expected latency, energy, throughput or makespan", objective_text));
  }
  const std::string codec_text = text("codec");
  const auto codec = partition::codec_from_string(codec_text);
  if (!codec) {
    throw UsageError(fmt::format("--codec '{}': expected fp32, fp16, int8, fp32+zstd, fp16+zstd or int8+zstd", codec_text));
  }
  const partition::PrivacyFloor floor = parse_text("privacy-floor", text("privacy-floor"), partition::parse_privacy_floor);

  CostModel model;
  model.codec = *codec;
  model.link.rtt_ms = parse_text("rtt", text("rtt"), units::parse_duration_ms);
  model.cloud_wait_ms = parse_text("cloud-wait", text("cloud-wait"), units::parse_duration_ms);
  if (result->count("power")) model.power = parse_power(text("power"));
  const bool downlink_given = result->count("downlink") > 0;
  const double downlink = downlink_given ? parse_text("downlink", text("downlink"), units::parse_bandwidth) : 0;
  std::optional<std::pair<double, double>> sweep;
  if (result->count("sweep")) sweep = parse_sweep(text("sweep"));
  const bool single = result->count("bandwidth") > 0;
  // The link the single plan uses; a sweep alone starts from its low end.
  const double uplink = single ? parse_text("bandwidth", text("bandwidth"), units::parse_bandwidth) : sweep->first;
  model.link.uplink_bytes_per_s = uplink;
  model.link.downlink_bytes_per_s = downlink_given ? downlink : uplink;

  Setup setup;
  setup.model_name = ref.model;
  setup.uplink_swept = !single;
  setup.downlink_follows = !downlink_given;
  // Planning needs the architecture only, never the weights.
  const GraphDesc g = context.graph(ref);
  setup.model_name = g.name();
  const auto planner = planner::Planner::from_profiles(text("edge-profile"), text("cloud-profile"), model.power);
  setup.edge_device = planner->edge_predictor()->profile().device;
  setup.cloud_device = planner->cloud_predictor()->profile().device;
  planner->add_model(g);
  // The daemons' cost model: the planner's (node and run costs, the power
  // it was made with) under this command's conditions.
  const planner::Conditions conditions{
      .link = model.link, .cloud_wait_ms = model.cloud_wait_ms, .codec = model.codec, .privacy = floor};
  try {
    model = planner->cost_model(g.name(), conditions);
  } catch (const std::invalid_argument& e) {
    throw UsageError(fmt::format("--privacy-floor: {}", e.what()));
  }
  partition::validate(g, model);

  const bool json = result->count("json") > 0;
  nlohmann::json out = {{"model", setup.model_name},
                        {"nodes", g.size()},
                        {"shape", g.is_chain() ? "chain" : "dag"},
                        {"edge_device", setup.edge_device},
                        {"cloud_device", setup.cloud_device},
                        {"link", link_json(model)},
                        {"objective", partition::to_string(*objective)}};
  if (!json) print_header(g, setup, model, *objective);

  if (single) {
    const Timed timed = time_optimise(g, model, *objective);
    const Plan& best = timed.plan;
    out["plan"] = partition::to_json(best);
    out["optimiser_us"] = timed.median_us;
    out["optimiser_runs"] = timed.runs;
    if (g.is_chain()) {
      const auto chain = partition::optimise_chain(g, model, *objective);
      nlohmann::json splits = nlohmann::json::array();
      for (const auto& sp : chain.splits) {
        splits.push_back({{"split", sp.split},
                          {"last_edge_node", g.node(static_cast<NodeId>(sp.split)).name},
                          {"predicted", partition::to_json(sp.breakdown)},
                          {"objective_value", sp.objective_value},
                          {"allowed", sp.allowed}});
      }
      out["splits"] = std::move(splits);
      if (!json) print_chain_table(g, chain, best, *objective);
    } else {
      const Plan edge_only = partition::make_plan(g, model, Cut::edge_only(g), *objective);
      const Plan cloud_only = partition::make_plan(g, model, Cut::cloud_only(g), *objective);
      out["alternatives"] = {{"edge_only", partition::to_json(edge_only)},
                             {"cloud_only", partition::to_json(cloud_only)}};
      if (!json) print_dag_table(g, best, edge_only, cloud_only, *objective);
    }
    if (!json) print_best(best, timed);
  }

  if (sweep) {
    partition::SweepOptions sweep_options;
    sweep_options.downlink_follows_uplink = !downlink_given;
    const auto t0 = std::chrono::steady_clock::now();
    const auto intervals =
        partition::sweep_bandwidth(g, model, *objective, sweep->first, sweep->second, sweep_options);
    const double sweep_us = us_since(t0);
    nlohmann::json jintervals = nlohmann::json::array();
    for (const auto& in : intervals) {
      jintervals.push_back({{"low_bytes_per_s", in.low_bytes_per_s},
                            {"high_bytes_per_s", in.high_bytes_per_s},
                            {"plan", partition::to_json(in.plan)}});
    }
    out["sweep"] = {{"low_bytes_per_s", sweep->first},
                    {"high_bytes_per_s", sweep->second},
                    {"downlink_follows_uplink", sweep_options.downlink_follows_uplink},
                    {"sweep_us", sweep_us},
                    {"intervals", std::move(jintervals)}};
    if (!json) {
      print_sweep(intervals, *objective, sweep->first, sweep->second, sweep_options.downlink_follows_uplink,
                  sweep_us);
    }
  }
  if (json) fmt::print("{}\n", out.dump(2));
  return 0;
}

}  // namespace tandem::cli
