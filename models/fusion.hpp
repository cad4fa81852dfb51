#pragma once
// Which nodes the executor computes inside the convolution that feeds them
// (docs/design.md §3). Fusion is an execution detail: the graph keeps every
// node, a cut may fall anywhere, and a node whose convolution is on the
// other side of a cut runs on its own. Torch-free, so the predictor agrees
// with the executor about what a node costs.

#include "models/graph.hpp"

namespace tandem {

/// For a batch norm folded into a convolution's weights: the convolution;
/// otherwise -1. A batch_norm2d node folds when its only input is a conv2d
/// node that has no other consumer; the executor then runs the convolution
/// with the batch norm's scale and shift folded into its weights and bias
/// (exact in inference, up to rounding) whenever both are computed in one
/// call, and the batch norm itself costs nothing.
NodeId folded_into(const GraphDesc& graph, NodeId id);

}  // namespace tandem
