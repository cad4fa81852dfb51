#include "edge_daemon/inline_input.hpp"

#include <ATen/ATen.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

namespace tandem::edge {

std::vector<at::Tensor> inline_inputs(const Model& model, const control::InlineTensor& input) {
  const auto shapes = model.graph().input_shapes();
  if (shapes.size() != 1) {
    throw std::invalid_argument(fmt::format("model '{}' takes {} inputs; an inline input is one tensor (use input_file)",
                                            model.graph().name(), shapes.size()));
  }
  if (Shape(input.shape.begin(), input.shape.end()) != shapes.front()) {
    throw std::invalid_argument(fmt::format("inline input of shape {} does not fit model '{}', which takes {}",
                                            fmt::join(input.shape, "x"), model.graph().name(),
                                            fmt::join(shapes.front(), "x")));
  }
  // The protocol checked values.size() against the shape; copy so the tensor owns its data.
  at::Tensor t = at::empty(input.shape, at::kFloat);
  std::copy(input.values.begin(), input.values.end(), t.data_ptr<float>());
  return {t};
}

}  // namespace tandem::edge
