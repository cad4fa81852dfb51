#include "partition/flow_network.hpp"

#include <stdexcept>

#include <fmt/format.h>

namespace tandem::partition::detail {
namespace {

// ∞ arcs get this multiple of the sum of all finite capacities (plus one):
// larger than any finite cut, yet small enough that residuals of ∞ arcs keep
// full precision in double arithmetic.
constexpr double k_infinity_factor = 2.0;

// Graph nodes, the two terminals, the constant vertex, one auxiliary vertex
// per tensor with several consumers.
std::size_t vertex_count(const GraphDesc& graph) {
  std::size_t aux_count = 0;
  for (std::size_t v = 0; v < graph.size(); ++v) {
    if (graph.consumers(static_cast<NodeId>(v)).size() > 1) ++aux_count;
  }
  return graph.size() + 3 + aux_count;
}

}  // namespace

LinearWeights latency_weights(const CostModel& model) {
  // Paid by every cut that sends anything: the round trip, the cloud's queue
  // and its run's fixed cost (the edge's run cost is compared explicitly).
  return {1.0, 1.0, 1.0, 1.0, model.link.rtt_ms + model.cloud_wait_ms + model.cloud_run_ms};
}

LinearWeights energy_weights(const CostModel& model) {
  const auto& p = model.power;
  return {p.compute_w, p.transmit_w, p.idle_w, p.idle_w, p.idle_w * (model.link.rtt_ms + model.cloud_wait_ms + model.cloud_run_ms)};
}

void DadsNetwork::add_arc(std::size_t from, std::size_t to, Capacity forward, Capacity backward) {
  arcs_.push_back({from, to, forward, backward});
}

void DadsNetwork::build(std::size_t vertex_count) {
  std::vector<std::pair<std::size_t, std::size_t>> edges;
  std::vector<std::size_t> slots;
  edges.reserve(2 * arcs_.size());
  slots.reserve(2 * arcs_.size());
  for (std::size_t a = 0; a < arcs_.size(); ++a) {
    edges.emplace_back(arcs_[a].from, arcs_[a].to);
    slots.push_back(2 * a);
    edges.emplace_back(arcs_[a].to, arcs_[a].from);
    slots.push_back(2 * a + 1);
  }
  flow_ = FlowGraph(boost::edges_are_unsorted_multi_pass, edges.begin(), edges.end(), slots.begin(), vertex_count);
  const std::size_t edge_count = boost::num_edges(flow_);
  std::vector<Edge> edge_at_slot(edge_count);
  edge_of_slot_.assign(edge_count, 0);
  for (auto [it, end] = boost::edges(flow_); it != end; ++it) {
    const std::size_t slot = flow_[*it];
    edge_at_slot[slot] = *it;
    edge_of_slot_[slot] = boost::get(boost::edge_index, flow_, *it);
  }
  reverse_.resize(edge_count);
  for (std::size_t slot = 0; slot < edge_count; ++slot) reverse_[edge_of_slot_[slot]] = edge_at_slot[slot ^ 1];
  capacity_.assign(edge_count, 0.0);
  residual_.assign(edge_count, 0.0);
}

DadsNetwork::DadsNetwork(const GraphDesc& graph, const CostModel& model) : graph_(&graph) {
  const std::size_t n = graph.size();
  source_ = n;
  sink_ = n + 1;
  const std::size_t constant_vertex = n + 2;
  std::size_t next_aux = n + 3;

  auto term = [](Term t, double base) {
    Capacity c;
    c.base[t] = base;
    return c;
  };
  const Capacity infinite{true, {}};

  for (std::size_t v = 0; v < n; ++v) {
    // The inputs, and nodes a privacy floor pins, stay on the edge (source) side.
    const bool pinned = !model.edge_pinned.empty() && model.edge_pinned[v];
    if (v < graph.input_count() || pinned) add_arc(source_, v, infinite);
  }
  for (std::size_t v = graph.input_count(); v < n; ++v) {
    add_arc(v, sink_, term(k_edge, model.edge_ms[v]));
    Capacity cloud = term(k_cloud, model.cloud_ms[v]);
    if (graph.consumers(static_cast<NodeId>(v)).empty()) {
      cloud.base[k_download] = download_ms(graph.nodes()[v], model);
    }
    add_arc(source_, v, cloud);
  }
  for (std::size_t p = 0; p < n; ++p) {
    const auto& consumers = graph.consumers(static_cast<NodeId>(p));
    if (consumers.empty()) continue;
    const Capacity upload = term(k_transfer, upload_ms(graph.nodes()[p], model));
    if (consumers.size() == 1) {
      add_arc(p, static_cast<std::size_t>(consumers.front()), upload, infinite);
      continue;
    }
    const std::size_t aux = next_aux++;
    add_arc(p, aux, upload);
    for (NodeId q : consumers) {
      add_arc(aux, static_cast<std::size_t>(q), infinite);
      add_arc(static_cast<std::size_t>(q), p, infinite);
    }
  }
  add_arc(source_, constant_vertex, term(k_constant, 1.0));
  for (NodeId o : graph.sinks()) {
    if (!graph.is_input(o)) add_arc(constant_vertex, static_cast<std::size_t>(o), infinite);
  }
  build(vertex_count(graph));
}

Cut DadsNetwork::solve(const LinearWeights& weights) {
  const std::array<double, k_term_count> w{weights.edge, weights.transfer, weights.cloud, weights.download,
                                           weights.constant};
  auto finite_value = [&](const Capacity& c) {
    double value = 0;
    for (std::size_t t = 0; t < k_term_count; ++t) value += w[t] * c.base[t];
    return value;
  };
  double finite_sum = 0;
  for (const Arc& a : arcs_) {
    if (!a.forward.infinite) finite_sum += finite_value(a.forward);
    if (!a.backward.infinite) finite_sum += finite_value(a.backward);
  }
  const double infinity = k_infinity_factor * finite_sum + 1.0;
  auto capacity = [&](const Capacity& c) { return c.infinite ? infinity : finite_value(c); };
  for (std::size_t a = 0; a < arcs_.size(); ++a) {
    capacity_[edge_of_slot_[2 * a]] = capacity(arcs_[a].forward);
    capacity_[edge_of_slot_[2 * a + 1]] = capacity(arcs_[a].backward);
  }

  const auto edge_index = boost::get(boost::edge_index, flow_);
  const auto vertex_index = boost::get(boost::vertex_index, flow_);
  const std::size_t vertices = boost::num_vertices(flow_);
  std::vector<Edge> predecessor(vertices);
  std::vector<boost::default_color_type> color(vertices);
  std::vector<long> distance(vertices, 0);
  boost::boykov_kolmogorov_max_flow(flow_, boost::make_iterator_property_map(capacity_.begin(), edge_index),
                                    boost::make_iterator_property_map(residual_.begin(), edge_index),
                                    boost::make_iterator_property_map(reverse_.begin(), edge_index),
                                    boost::make_iterator_property_map(predecessor.begin(), vertex_index),
                                    boost::make_iterator_property_map(color.begin(), vertex_index),
                                    boost::make_iterator_property_map(distance.begin(), vertex_index), vertex_index,
                                    source_, sink_);

  // The edge side is what the source still reaches in the residual graph.
  // Max-flow leaves no residual s-t path with positive capacity, so t is
  // never reached; ∞ arcs keep positive residuals, so the set is closed.
  std::vector<bool> reached(boost::num_vertices(flow_), false);
  std::vector<std::size_t> stack{source_};
  reached[source_] = true;
  while (!stack.empty()) {
    const std::size_t u = stack.back();
    stack.pop_back();
    for (auto [it, end] = boost::out_edges(u, flow_); it != end; ++it) {
      const std::size_t v = boost::target(*it, flow_);
      if (!reached[v] && residual_[boost::get(boost::edge_index, flow_, *it)] > 0) {
        reached[v] = true;
        stack.push_back(v);
      }
    }
  }
  if (reached[sink_]) throw std::logic_error("min cut: the cloud terminal is reachable after max-flow");
  Cut cut(*graph_, std::vector<bool>(reached.begin(), reached.begin() + static_cast<std::ptrdiff_t>(graph_->size())));
  if (auto why = cut.validate(*graph_); !why.empty()) {
    throw std::logic_error(fmt::format("min cut produced an invalid cut: {}", why));
  }
  return cut;
}

}  // namespace tandem::partition::detail
