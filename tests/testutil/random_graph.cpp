#include "testutil/random_graph.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

#include <fmt/format.h>

namespace tandem::testutil {
namespace {

constexpr double k_relu_probability = 0.3;

double log_uniform(std::mt19937_64& rng, double lo, double hi) {
  std::uniform_real_distribution<double> u(std::log(lo), std::log(hi));
  return std::exp(u(rng));
}

std::size_t pick(std::mt19937_64& rng, std::size_t lo, std::size_t hi) {
  return std::uniform_int_distribution<std::size_t>(lo, hi)(rng);
}

Node make_node(std::size_t id, OpKind kind, std::vector<NodeId> inputs, std::int64_t width) {
  Node n;
  n.id = static_cast<NodeId>(id);
  n.name = fmt::format("n{}", id);
  n.kind = kind;
  n.inputs = std::move(inputs);
  n.out_shape = {1, width};
  return n;
}

Node single_input_node(std::mt19937_64& rng, std::size_t id, NodeId producer, std::int64_t producer_width,
                       std::int64_t new_width) {
  std::bernoulli_distribution relu(k_relu_probability);
  if (relu(rng)) return make_node(id, OpKind::relu, {producer}, producer_width);
  Node n = make_node(id, OpKind::linear, {producer}, new_width);
  n.attrs.in_features = producer_width;
  n.attrs.out_features = new_width;
  n.attrs.bias = true;
  return n;
}

GraphDesc finish(std::string name, std::vector<Node> nodes) {
  compute_features(nodes);
  return GraphDesc(std::move(name), std::move(nodes));
}

}  // namespace

GraphDesc random_dag(std::mt19937_64& rng, const RandomGraphOptions& options) {
  if (options.nodes == 0 || options.max_inputs < 2 || options.width_classes == 0 || options.min_width < 1 ||
      options.max_width < options.min_width) {
    throw std::invalid_argument("random_dag: bad options");
  }
  std::vector<std::int64_t> classes;
  for (std::size_t k = 0; k < options.width_classes; ++k) {
    classes.push_back(static_cast<std::int64_t>(
        std::llround(log_uniform(rng, static_cast<double>(options.min_width), static_cast<double>(options.max_width)))));
  }
  auto random_width = [&] { return classes[pick(rng, 0, classes.size() - 1)]; };

  std::vector<Node> nodes;
  std::vector<std::int64_t> width;
  nodes.push_back(make_node(0, OpKind::input, {}, random_width()));
  width.push_back(nodes.back().out_shape.back());
  std::bernoulli_distribution multi(options.multi_input_probability);
  for (std::size_t i = 1; i < options.nodes; ++i) {
    const std::size_t lo = options.window == 0 || i <= options.window ? 0 : i - options.window;
    // Node 1 reads the input, so the input always has a consumer.
    const std::size_t first = i == 1 ? 0 : pick(rng, lo, i - 1);
    if (i > 1 && multi(rng)) {
      std::vector<NodeId> same_width;
      for (std::size_t p = lo; p < i; ++p) {
        if (width[p] == width[first]) same_width.push_back(static_cast<NodeId>(p));
      }
      if (same_width.size() >= 2) {
        std::shuffle(same_width.begin(), same_width.end(), rng);
        same_width.resize(pick(rng, 2, std::min(options.max_inputs, same_width.size())));
        std::sort(same_width.begin(), same_width.end());
        nodes.push_back(make_node(i, OpKind::add, same_width, width[first]));
        width.push_back(width[first]);
        continue;
      }
    }
    nodes.push_back(single_input_node(rng, i, static_cast<NodeId>(first), width[first], random_width()));
    width.push_back(nodes.back().out_shape.back());
  }
  return finish("random_dag", std::move(nodes));
}

GraphDesc make_graph(const std::vector<std::vector<NodeId>>& inputs, const std::vector<std::int64_t>& widths,
                     std::string name) {
  if (inputs.size() != widths.size() || inputs.empty()) {
    throw std::invalid_argument("make_graph: inputs and widths must be non-empty and of one size");
  }
  std::vector<Node> nodes;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    const auto& ins = inputs[i];
    const OpKind kind = i == 0 ? OpKind::input : ins.size() == 1 ? OpKind::linear : OpKind::concat;
    Node n = make_node(i, kind, ins, widths[i]);
    if (kind == OpKind::linear) {
      n.attrs.in_features = widths.at(static_cast<std::size_t>(ins.front()));
      n.attrs.out_features = widths[i];
    } else if (kind == OpKind::concat) {
      n.attrs.concat_dim = 1;
    }
    nodes.push_back(std::move(n));
  }
  return finish(std::move(name), std::move(nodes));
}

GraphDesc random_chain(std::mt19937_64& rng, std::size_t nodes) {
  if (nodes == 0) throw std::invalid_argument("random_chain: needs at least the input node");
  auto random_width = [&] {
    return static_cast<std::int64_t>(std::llround(log_uniform(rng, 16.0, static_cast<double>(1 << 16))));
  };
  std::vector<Node> out;
  out.push_back(make_node(0, OpKind::input, {}, random_width()));
  for (std::size_t i = 1; i < nodes; ++i) {
    const std::int64_t w = out.back().out_shape.back();
    out.push_back(single_input_node(rng, i, static_cast<NodeId>(i - 1), w, random_width()));
  }
  return finish("random_chain", std::move(out));
}

partition::CostModel random_cost_model(const GraphDesc& graph, std::mt19937_64& rng,
                                       const RandomCostOptions& options) {
  partition::CostModel model;
  model.edge_ms.assign(graph.size(), 0.0);
  model.cloud_ms.assign(graph.size(), 0.0);
  for (std::size_t v = 1; v < graph.size(); ++v) {
    model.edge_ms[v] = log_uniform(rng, options.max_node_ms / 1000.0, options.max_node_ms);
    model.cloud_ms[v] = model.edge_ms[v] / log_uniform(rng, 0.5, 100.0);
  }
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  model.link.uplink_bytes_per_s = log_uniform(rng, options.min_bandwidth, options.max_bandwidth);
  model.link.downlink_bytes_per_s = model.link.uplink_bytes_per_s * log_uniform(rng, 0.5, 4.0);
  model.link.rtt_ms = 50.0 * unit(rng);
  model.cloud_wait_ms = unit(rng) < 0.5 ? 0.0 : 30.0 * unit(rng);
  model.codec = unit(rng) < 0.5 ? partition::Codec::fp32 : partition::Codec::fp16;
  model.power.compute_w = 0.5 + 4.5 * unit(rng);
  model.power.transmit_w = 0.2 + 2.8 * unit(rng);
  model.power.idle_w = 0.05 + 0.95 * unit(rng);
  // A third of the models charge each side's run a fixed cost (a profile's
  // cold start), so every optimiser is checked against the oracle with it.
  if (unit(rng) < 1.0 / 3.0) {
    model.edge_run_ms = options.max_node_ms * unit(rng);
    model.cloud_run_ms = 0.2 * options.max_node_ms * unit(rng);
  }
  return model;
}

}  // namespace tandem::testutil
