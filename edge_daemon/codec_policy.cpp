#include "edge_daemon/codec_policy.hpp"

#include <cmath>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace tandem::edge {
namespace {

constexpr std::uintmax_t k_max_table_bytes = 1 << 20;

}  // namespace

std::optional<double> CodecAccuracy::of(const std::string& model, partition::Codec codec) const {
  const auto m = change.find(model);
  if (m == change.end()) return std::nullopt;
  const auto c = m->second.find(codec);
  if (c == m->second.end()) return std::nullopt;
  return c->second;
}

CodecAccuracy load_codec_accuracy(const std::filesystem::path& file) {
  const auto fail = [&](const std::string& why) {
    return std::runtime_error(fmt::format("codec accuracy table {}: {}", file.string(), why));
  };
  std::error_code ec;
  const auto size = std::filesystem::file_size(file, ec);
  if (ec) throw fail("cannot read it (" + ec.message() + "); bench/joint.sh writes one");
  if (size > k_max_table_bytes) throw fail(fmt::format("larger than {} bytes", k_max_table_bytes));
  std::ifstream in(file);
  std::stringstream text;
  text << in.rdbuf();
  const auto j = nlohmann::json::parse(text.str(), nullptr, false);
  if (j.is_discarded() || !j.is_object()) throw fail(R"(expected {"MODEL": {"CODEC": percent, ...}, ...})");
  CodecAccuracy table;
  for (const auto& [model, codecs] : j.items()) {
    if (!codecs.is_object()) throw fail(fmt::format("'{}' must map codec names to percentages", model.substr(0, 64)));
    for (const auto& [name, value] : codecs.items()) {
      const auto codec = partition::codec_from_string(name);
      if (!codec) throw fail(fmt::format("'{}': unknown codec '{}'", model.substr(0, 64), name.substr(0, 32)));
      if (!value.is_number() || !(value.get<double>() >= 0 && value.get<double>() <= 100)) {
        throw fail(fmt::format("'{}' {}: the top-1 change must be a percentage, 0 to 100", model.substr(0, 64), name));
      }
      table.change[model][*codec] = value.get<double>();
    }
  }
  return table;
}

std::vector<partition::Codec> allowed_codecs(const control::TaskSpec& task, const std::string& model,
                                             const CodecAccuracy* accuracy) {
  const auto measured = [&](partition::Codec c) -> std::optional<double> {
    if (partition::is_lossless(c)) return 0.0;
    return accuracy ? accuracy->of(model, c) : std::nullopt;
  };
  if (!task.codec.automatic) {
    const partition::Codec c = task.codec.codec;
    if (task.accuracy_budget) {
      const auto change = measured(c);
      if (!change) {
        throw std::invalid_argument(fmt::format(
            "codec {} on model '{}': its top-1 change is not measured (edge_daemon --codec-accuracy), so the "
            "accuracy budget of {}% cannot be checked",
            partition::to_string(c), model, *task.accuracy_budget));
      }
      if (*change > *task.accuracy_budget) {
        throw std::invalid_argument(fmt::format("codec {} changes {:.2f}% of model '{}''s top-1 answers, over the "
                                                "accuracy budget of {}%",
                                                partition::to_string(c), *change, model, *task.accuracy_budget));
      }
    }
    return {c};
  }
  const double budget = task.accuracy_budget.value_or(0.0);
  std::vector<partition::Codec> out;
  for (partition::Codec c : partition::k_codecs) {  // fp32 first: lossless wins ties
    const auto change = measured(c);
    if (change && *change <= budget) out.push_back(c);
  }
  return out;
}

partition::Plan plan_with_codecs(const planner::Planner& planner, const std::string& model,
                                 partition::Objective objective, planner::Conditions conditions,
                                 const std::vector<partition::Codec>& codecs, const std::optional<Cut>& forced) {
  if (codecs.empty()) throw std::logic_error("plan_with_codecs: no codec to plan with");
  std::optional<partition::Plan> best;
  for (partition::Codec c : codecs) {
    conditions.codec = c;
    partition::Plan plan = forced ? planner.evaluate(model, *forced, objective, conditions)
                                  : planner.plan(model, objective, conditions);
    if (!best || plan.objective_value < best->objective_value) best = std::move(plan);
  }
  return *best;
}

partition::Codec resolve_codec(const planner::Planner& planner, const control::TaskSpec& task, const GraphDesc& graph,
                               const planner::Conditions& conditions, const CodecAccuracy* accuracy) {
  const std::vector<partition::Codec> codecs = allowed_codecs(task, task.model, accuracy);
  if (codecs.size() == 1) return codecs.front();
  std::optional<Cut> forced;
  using Mode = control::PlanChoice::Mode;
  switch (task.plan.mode) {
    case Mode::automatic: break;
    case Mode::edge_only: return codecs.front();  // nothing travels
    case Mode::cloud_only: forced = Cut::cloud_only(graph); break;
    case Mode::split:
      if (!graph.is_chain()) {
        throw std::invalid_argument(
            fmt::format("plan split:K needs a chain model; '{}' is a DAG (use cut:NODES)", graph.name()));
      }
      forced = Cut::chain_prefix(graph, task.plan.split);
      break;
    case Mode::cut: forced = Cut::parse(graph, task.plan.cut); break;
  }
  return plan_with_codecs(planner, task.model, task.objective, conditions, codecs, forced).codec;
}

net::Codec wire_codec(partition::Codec codec) {
  switch (codec) {
    case partition::Codec::fp32: return net::Codec::raw;
    case partition::Codec::fp16: return net::Codec::fp16;
    case partition::Codec::int8: return net::Codec::int8;
    case partition::Codec::fp32_zstd: return net::Codec::raw_zstd;
    case partition::Codec::fp16_zstd: return net::Codec::fp16_zstd;
    case partition::Codec::int8_zstd: return net::Codec::int8_zstd;
  }
  return net::Codec::raw;
}

}  // namespace tandem::edge
