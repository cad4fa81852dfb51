#include "net/torch_bridge.hpp"

#include <algorithm>

#include <ATen/ATen.h>
#include <fmt/format.h>

namespace tandem::net {

namespace {

struct TypePair {
  at::ScalarType scalar;
  DType dtype;
};
constexpr TypePair k_types[] = {{at::kFloat, DType::f32}, {at::kHalf, DType::f16}, {at::kLong, DType::i64},
                                {at::kInt, DType::i32},   {at::kByte, DType::u8},  {at::kBool, DType::boolean}};

}  // namespace

WireTensor to_wire(NodeId node, const at::Tensor& tensor, Codec codec) {
  const auto it = std::find_if(std::begin(k_types), std::end(k_types),
                               [&](const TypePair& t) { return t.scalar == tensor.scalar_type(); });
  if (it == std::end(k_types)) {
    throw std::invalid_argument(
        fmt::format("tensor of node {} is {}, which does not travel", node, std::string(tensor.dtype().name())));
  }
  auto held = std::make_shared<at::Tensor>(tensor.contiguous());
  WireTensor w;
  w.node_id = node;
  w.dtype = it->dtype;
  // Only f32 has narrower codecs; other types travel as they are (zstd still applies).
  w.codec = it->dtype == DType::f32 ? codec : with_zstd(Codec::raw, uses_zstd(codec));
  w.shape = Shape(held->sizes().begin(), held->sizes().end());
  w.data = std::span<const std::byte>(static_cast<const std::byte*>(held->data_ptr()),
                                      static_cast<std::size_t>(held->nbytes()));
  w.owner = std::shared_ptr<const void>(held, held->data_ptr());
  return w;
}

at::Tensor from_wire(const WireTensor& tensor) {
  const std::vector<std::int64_t> sizes(tensor.shape.begin(), tensor.shape.end());
  auto owner = tensor.owner;  // captured by the deleter: the payload outlives the view
  at::ScalarType type = at::kFloat;
  for (const auto& t : k_types) {
    if (t.dtype == tensor.dtype) type = t.scalar;
  }
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
