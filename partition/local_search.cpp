#include "partition/local_search.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <functional>
#include <vector>

#include "partition/internal.hpp"

namespace tandem::partition::detail {
namespace {


// Stages sorted largest first: the period, then what limits the next stage.
using Key = std::array<double, 3>;

Key key_of(double e, double u, double c) {
  Key k{e, u, c};
  std::sort(k.begin(), k.end(), std::greater<>());
  return k;
}

bool lower_key(const Key& a, const Key& b) {
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (strictly_better(a[i], b[i])) return true;
    if (strictly_better(b[i], a[i])) return false;
  }
  return false;
}

}  // namespace

Cut improve_period_locally(const GraphDesc& graph, const CostModel& model, const Cut& start, std::size_t max_moves) {
  const std::size_t n = graph.size();
  std::vector<bool> on_edge = start.mask();
  std::vector<double> upload_ms(n);
  std::vector<std::vector<NodeId>> producers(n);  // distinct inputs
  std::vector<std::size_t> cloud_consumers(n, 0);
  double e = 0, u = 0, c = 0;
  for (std::size_t v = 0; v < n; ++v) {
    upload_ms[v] = partition::upload_ms(graph.nodes()[v], model);
    auto& ins = producers[v];
    ins = graph.nodes()[v].inputs;
    std::sort(ins.begin(), ins.end());
    ins.erase(std::unique(ins.begin(), ins.end()), ins.end());
    for (NodeId q : graph.consumers(static_cast<NodeId>(v))) cloud_consumers[v] += !on_edge[static_cast<std::size_t>(q)];
    if (graph.is_input(static_cast<NodeId>(v))) continue;
    if (on_edge[v]) {
      e += model.edge_ms[v];
    } else {
      c += model.cloud_ms[v];
    }
  }
  for (std::size_t v = 0; v < n; ++v) {
    if (on_edge[v] && cloud_consumers[v] > 0) u += upload_ms[v];
  }

  Key current = key_of(e, u, c);
  for (std::size_t move = 0; move < max_moves; ++move) {
    std::size_t best_node = n;
    Key best_key = current;
    double best_e = e, best_u = u, best_c = c;
    for (std::size_t v = graph.input_count(); v < n; ++v) {
      const bool has_consumers = !graph.consumers(static_cast<NodeId>(v)).empty();
      double ne, nu, nc;
      if (!on_edge[v]) {
        const auto& ins = producers[v];
        if (!std::all_of(ins.begin(), ins.end(), [&](NodeId p) { return on_edge[static_cast<std::size_t>(p)]; })) {
          continue;
        }
        // v joins the edge: its tensor now crosses (its consumers are all in
        // the cloud); a producer stops crossing if v was its last cloud consumer.
        ne = e + model.edge_ms[v];
        nc = c - model.cloud_ms[v];
        nu = u + (has_consumers ? upload_ms[v] : 0.0);
        for (NodeId p : ins) {
          if (cloud_consumers[static_cast<std::size_t>(p)] == 1) nu -= upload_ms[static_cast<std::size_t>(p)];
        }
      } else {
        if (cloud_consumers[v] != graph.consumers(static_cast<NodeId>(v)).size()) continue;
        if (!model.edge_pinned.empty() && model.edge_pinned[v]) continue;
        // v returns to the cloud: its tensor no longer crosses; its producers do.
        ne = e - model.edge_ms[v];
        nc = c + model.cloud_ms[v];
        nu = u - (has_consumers ? upload_ms[v] : 0.0);
        for (NodeId p : producers[v]) {
          if (cloud_consumers[static_cast<std::size_t>(p)] == 0) nu += upload_ms[static_cast<std::size_t>(p)];
        }
      }
      const Key k = key_of(ne, nu, nc);
      if (lower_key(k, best_key)) {
        best_key = k;
        best_node = v;
        best_e = ne;
        best_u = nu;
        best_c = nc;
      }
    }
    if (best_node == n) break;
    const bool joins = !on_edge[best_node];
    on_edge[best_node] = joins;
    for (NodeId p : producers[best_node]) {
      auto& count = cloud_consumers[static_cast<std::size_t>(p)];
      count = joins ? count - 1 : count + 1;
    }
    e = best_e;
    u = best_u;
    c = best_c;
    current = best_key;
  }
  return Cut(graph, std::move(on_edge));
}

}  // namespace tandem::partition::detail
