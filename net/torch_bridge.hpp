#pragma once
// The boundary between LibTorch tensors and wire tensors. Lives beside net/
// in its own target (tandem::net_torch) so the protocol library itself stays
// free of LibTorch.

#include <ATen/core/Tensor.h>

#include "models/model.hpp"
#include "net/errors.hpp"
#include "net/tensor_codec.hpp"

namespace tandem::net {

/// Wraps `tensor` (made contiguous first) as a wire tensor tagged with
/// `node`, without copying: the wire tensor keeps the storage alive. `codec`
/// says how an f32 tensor travels (other types travel raw). Throws
/// std::invalid_argument for an element type the wire does not carry.
WireTensor to_wire(NodeId node, const at::Tensor& tensor, Codec codec = Codec::raw);

/// Views a received wire tensor as an at::Tensor (zero-copy, but f16 widened
/// to f32); the tensor keeps the received payload alive. Never throws except
/// bad_alloc (the wire tensor was validated by the decoder).
at::Tensor from_wire(const WireTensor& tensor);

/// Wire tensors of a TensorMap, in node order.
std::vector<WireTensor> to_wire(const TensorMap& tensors, Codec codec = Codec::raw);

/// TensorMap of wire tensors; an Error (invalid_tensor) names a node that
/// appears twice.
Expected<TensorMap> from_wire(const std::vector<WireTensor>& tensors);

}  // namespace tandem::net
