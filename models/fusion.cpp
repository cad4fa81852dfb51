#include "models/fusion.hpp"

namespace tandem {

NodeId folded_into(const GraphDesc& graph, NodeId id) {
  const Node& n = graph.node(id);
  if (n.kind != OpKind::batch_norm2d || n.inputs.size() != 1) return -1;
  const NodeId conv = n.inputs.front();
  if (graph.node(conv).kind != OpKind::conv2d || graph.consumers(conv).size() != 1) return -1;
  return conv;
}

}  // namespace tandem
