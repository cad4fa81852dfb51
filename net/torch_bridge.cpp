#include "net/torch_bridge.hpp"

#include <ATen/ATen.h>
#include <fmt/format.h>

namespace tandem::net {

WireTensor to_wire(NodeId node, const at::Tensor& tensor, Codec codec) {
  if (tensor.scalar_type() != at::kFloat) {
    throw std::invalid_argument(
        fmt::format("tensor of node {} is {}, only float32 travels", node, std::string(tensor.dtype().name())));
  }
  auto held = std::make_shared<at::Tensor>(tensor.contiguous());
  WireTensor w;
  w.node_id = node;
  w.dtype = DType::f32;
  w.codec = codec;
  w.shape = Shape(held->sizes().begin(), held->sizes().end());
  w.data = std::span<const std::byte>(static_cast<const std::byte*>(held->data_ptr()),
                                      static_cast<std::size_t>(held->nbytes()));
  w.owner = std::shared_ptr<const void>(held, held->data_ptr());
  return w;
}

at::Tensor from_wire(const WireTensor& tensor) {
  const std::vector<std::int64_t> sizes(tensor.shape.begin(), tensor.shape.end());
  auto owner = tensor.owner;  // captured by the deleter: the payload outlives the view
  const auto type = tensor.dtype == DType::f16 ? at::kHalf : at::kFloat;
  at::Tensor view = at::from_blob(const_cast<std::byte*>(tensor.data.data()), sizes,
                                  [owner](void*) mutable { owner.reset(); },
                                  at::TensorOptions().dtype(type));
  return type == at::kHalf ? view.to(at::kFloat) : view;
}

std::vector<WireTensor> to_wire(const TensorMap& tensors, Codec codec) {
  std::vector<WireTensor> out;
  out.reserve(tensors.size());
  for (const auto& [node, t] : tensors) out.push_back(to_wire(node, t, codec));
  return out;
}

Expected<TensorMap> from_wire(const std::vector<WireTensor>& tensors) {
  TensorMap out;
  for (const WireTensor& w : tensors) {
    if (!out.emplace(w.node_id, from_wire(w)).second) {
      return Error::make(Errc::invalid_tensor,
                         fmt::format("tensor of node {} appears twice", w.node_id));
    }
  }
  return out;
}

}  // namespace tandem::net
