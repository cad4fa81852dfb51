#pragma once
// Internal: the LibTorch implementation of each node kind.

#include <vector>

#include <ATen/core/Tensor.h>

#include "models/graph.hpp"

namespace tandem::detail {

/// Computes `node` on `inputs` with its parameters `params` (in the order the
/// builder declared them). Throws c10::Error from LibTorch on bad shapes.
at::Tensor apply_op(const Node& node, const std::vector<at::Tensor>& inputs,
                    const std::vector<at::Tensor>& params);

}  // namespace tandem::detail
