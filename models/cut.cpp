#include "models/cut.hpp"

#include <algorithm>
#include <charconv>
#include <stdexcept>

#include <fmt/format.h>

namespace tandem {
namespace {

// Cut text comes from clients: quote at most this much of it in errors.
std::string shorten(std::string_view text) {
  constexpr std::size_t k_max_quoted = 64;
  return text.size() <= k_max_quoted ? std::string(text) : std::string(text.substr(0, k_max_quoted)) + "...";
}

}  // namespace

Cut Cut::edge_only(const GraphDesc& graph) { return Cut(graph, std::vector<bool>(graph.size(), true)); }

Cut Cut::cloud_only(const GraphDesc& graph) {
  std::vector<bool> mask(graph.size(), false);
  for (std::size_t i = 0; i < graph.input_count(); ++i) mask[i] = true;
  return Cut(graph, std::move(mask));
}

Cut Cut::closure_of(const GraphDesc& graph, const std::vector<NodeId>& nodes) {
  std::vector<bool> mask(graph.size(), false);
  for (std::size_t i = 0; i < graph.input_count(); ++i) mask[i] = true;
  for (NodeId id : nodes) mask.at(static_cast<std::size_t>(id)) = true;
  // Nodes are in topological order: one backward sweep closes the set.
  for (std::size_t i = graph.size(); i-- > 0;) {
    if (!mask[i]) continue;
    for (NodeId p : graph.nodes()[i].inputs) mask[static_cast<std::size_t>(p)] = true;
  }
  return Cut(graph, std::move(mask));
}

Cut Cut::chain_prefix(const GraphDesc& graph, std::size_t split) {
  if (split >= graph.size()) {
    throw std::out_of_range(fmt::format("split {} is past the last split point {} of '{}'", split,
                                        graph.size() - 1, graph.name()));
  }
  std::vector<bool> mask(graph.size(), false);
  for (std::size_t i = 0; i <= split; ++i) mask[i] = true;
  return Cut(graph, std::move(mask));
}

std::size_t Cut::edge_count() const {
  return static_cast<std::size_t>(std::count(on_edge_.begin(), on_edge_.end(), true));
}

bool Cut::is_edge_only() const {
  return std::all_of(on_edge_.begin(), on_edge_.end(), [](bool b) { return b; });
}

bool Cut::is_cloud_only() const {
  if (on_edge_.size() < inputs_ || edge_count() != inputs_) return false;
  for (std::size_t i = 0; i < inputs_; ++i) {
    if (!on_edge_[i]) return false;
  }
  return true;
}

std::vector<NodeId> Cut::edge_nodes() const {
  std::vector<NodeId> out;
  for (std::size_t i = 0; i < on_edge_.size(); ++i) {
    if (on_edge_[i]) out.push_back(static_cast<NodeId>(i));
  }
  return out;
}

std::string Cut::validate(const GraphDesc& graph) const {
  if (on_edge_.size() != graph.size()) {
    return fmt::format("cut has {} entries but graph '{}' has {} nodes", on_edge_.size(),
                       graph.name(), graph.size());
  }
  if (inputs_ != graph.input_count()) {
    return fmt::format("cut is for a graph of {} input(s); '{}' has {}", inputs_, graph.name(), graph.input_count());
  }
  for (std::size_t i = 0; i < inputs_; ++i) {
    if (!on_edge_[i]) {
      return inputs_ == 1 ? std::string("the input node must be on the edge")
                          : fmt::format("input node {} '{}' must be on the edge", i, graph.nodes()[i].name);
    }
  }
  for (const Node& n : graph.nodes()) {
    if (!on_edge_[static_cast<std::size_t>(n.id)]) continue;
    for (NodeId p : n.inputs) {
      if (!on_edge_[static_cast<std::size_t>(p)]) {
        return fmt::format("cut is not closed: edge node {} '{}' needs cloud node {} '{}'", n.id,
                           n.name, p, graph.node(p).name);
      }
    }
  }
  return {};
}

void Cut::check(const GraphDesc& graph) const {
  if (auto why = validate(graph); !why.empty()) throw std::invalid_argument(why);
}

std::vector<NodeId> Cut::crossing(const GraphDesc& graph) const {
  std::vector<NodeId> out;
  for (std::size_t i = 0; i < graph.size(); ++i) {
    if (!on_edge_[i]) continue;
    const auto& cons = graph.consumers(static_cast<NodeId>(i));
    if (std::any_of(cons.begin(), cons.end(),
                    [&](NodeId c) { return !on_edge_[static_cast<std::size_t>(c)]; })) {
      out.push_back(static_cast<NodeId>(i));
    }
  }
  return out;
}

std::int64_t Cut::crossing_bytes(const GraphDesc& graph) const {
  std::int64_t total = 0;
  for (NodeId id : crossing(graph)) total += graph.node(id).output_bytes;
  return total;
}

std::vector<NodeId> Cut::cloud_sinks(const GraphDesc& graph) const {
  std::vector<NodeId> out;
  for (NodeId s : graph.sinks()) {
    if (!on_edge_[static_cast<std::size_t>(s)]) out.push_back(s);
  }
  return out;
}

std::string Cut::to_string() const {
  if (is_edge_only()) return "edge_only";
  if (is_cloud_only()) return "cloud_only";
  std::string out;
  std::size_t i = 0;
  while (i < on_edge_.size()) {
    if (!on_edge_[i]) {
      ++i;
      continue;
    }
    std::size_t j = i;
    while (j + 1 < on_edge_.size() && on_edge_[j + 1]) ++j;
    if (!out.empty()) out += ',';
    out += j == i ? std::to_string(i) : fmt::format("{}-{}", i, j);
    i = j + 1;
  }
  return out;
}

Cut Cut::parse(const GraphDesc& graph, const std::string& text) {
  if (text == "edge_only") return edge_only(graph);
  if (text == "cloud_only") return cloud_only(graph);
  std::vector<bool> mask(graph.size(), false);
  auto parse_id = [&](std::string_view s) {
    std::size_t value = 0;
    auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
    if (ec != std::errc() || ptr != s.data() + s.size() || value >= graph.size()) {
      throw std::invalid_argument(fmt::format(
          "cut '{}': '{}' is not a node id of '{}' (0..{})", shorten(text), shorten(s), graph.name(),
          graph.size() - 1));
    }
    return value;
  };
  std::string_view rest = text;
  while (!rest.empty()) {
    const auto comma = rest.find(',');
    std::string_view item = rest.substr(0, comma);
    rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
    const auto dash = item.find('-');
    const std::size_t lo = parse_id(item.substr(0, dash));
    const std::size_t hi = dash == std::string_view::npos ? lo : parse_id(item.substr(dash + 1));
    if (hi < lo) throw std::invalid_argument(fmt::format("cut '{}': bad range '{}'", shorten(text), shorten(item)));
    for (std::size_t k = lo; k <= hi; ++k) mask[k] = true;
  }
  Cut cut(graph, std::move(mask));
  cut.check(graph);
  return cut;
}

void for_each_closed_cut(const GraphDesc& graph, const std::function<void(const Cut&)>& visit,
                         std::size_t limit) {
  std::vector<bool> mask(graph.size(), false);
  for (std::size_t i = 0; i < graph.input_count(); ++i) mask[i] = true;
  std::size_t produced = 0;
  // Decide nodes in topological order; a node may join the edge only when all
  // its producers did. Every closed set is produced exactly once.
  auto recurse = [&](auto&& self, std::size_t i) -> void {
    if (i == graph.size()) {
      if (++produced > limit) {
        throw std::length_error(fmt::format("graph '{}' has more than {} closed cuts",
                                            graph.name(), limit));
      }
      visit(Cut(graph, mask));
      return;
    }
    self(self, i + 1);
    const auto& ins = graph.nodes()[i].inputs;
    if (std::all_of(ins.begin(), ins.end(),
                    [&](NodeId p) { return mask[static_cast<std::size_t>(p)]; })) {
      mask[i] = true;
      self(self, i + 1);
      mask[i] = false;
    }
  };
  recurse(recurse, graph.input_count());
}

std::vector<Cut> enumerate_closed_cuts(const GraphDesc& graph, std::size_t limit) {
  std::vector<Cut> out;
  for_each_closed_cut(graph, [&](const Cut& c) { out.push_back(c); }, limit);
  return out;
}

std::vector<Cut> articulation_cuts(const GraphDesc& graph) {
  std::vector<Cut> out{Cut::cloud_only(graph)};
  // For each node v, S_v = ancestors(v) + {v}; it is an articulation cut when
  // v's output is the only tensor crossing it. O(n^2), fine for zoo sizes.
  for (std::size_t v = graph.input_count(); v < graph.size(); ++v) {
    Cut cut = Cut::closure_of(graph, {static_cast<NodeId>(v)});
    if (cut.is_edge_only()) continue;
    const auto cross = cut.crossing(graph);
    if (cross.size() == 1 && cross.front() == static_cast<NodeId>(v)) out.push_back(std::move(cut));
  }
  std::sort(out.begin(), out.end(),
            [](const Cut& a, const Cut& b) { return a.edge_count() < b.edge_count(); });
  out.push_back(Cut::edge_only(graph));
  return out;
}

Cut random_closed_cut(const GraphDesc& graph, std::mt19937_64& rng) {
  // Pick a random "frontier" density, then close the chosen subset. Sampling
  // the density first spreads cuts from nearly cloud-only to nearly edge-only.
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  const double density = unit(rng) * unit(rng);
  std::vector<NodeId> chosen;
  for (std::size_t i = graph.input_count(); i < graph.size(); ++i) {
    if (unit(rng) < density) chosen.push_back(static_cast<NodeId>(i));
  }
  return Cut::closure_of(graph, chosen);
}

}  // namespace tandem
