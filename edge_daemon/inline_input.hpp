#pragma once
// A task's inline input (control::InlineTensor) as the model's input tensor.

#include <vector>

#include <ATen/core/Tensor.h>

#include "control/protocol.hpp"
#include "models/model.hpp"

namespace tandem::edge {

/// The model's inputs from an inline tensor: a copy, f32, of the declared
/// shape. Throws std::invalid_argument when the model takes several inputs
/// or the shape differs from the model's input shape (naming both).
std::vector<at::Tensor> inline_inputs(const Model& model, const control::InlineTensor& input);

}  // namespace tandem::edge
