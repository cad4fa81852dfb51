// net::decode_tensor on arbitrary bytes, one tensor after another until the
// reader fails or ends. Properties: errors, never exceptions (bad_alloc
// aside); a decoded tensor passes validate_tensor, keeps its bytes alive,
// converts to floats when it is f32, and re-encodes.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "fuzz/fuzz_support.hpp"
#include "net/tensor_codec.hpp"

using tandem::fuzz::require;
using namespace tandem::net;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  // A payload of its own, as a received frame's: raw tensors point into it.
  const auto payload = std::make_shared<const std::vector<std::byte>>(reinterpret_cast<const std::byte*>(data),
                                                                      reinterpret_cast<const std::byte*>(data + size));
  ByteReader reader(*payload);
  std::vector<WireTensor> tensors;
  while (reader.remaining() > 0) {
    auto t = decode_tensor(reader, payload);
    if (!t) {
      require(static_cast<bool>(t.error().code), "a refused tensor has an error code");
      break;
    }
    require(!validate_tensor(t.value()).has_value(), "a decoded tensor is valid");
    require(t.value().owner != nullptr, "a decoded tensor keeps its bytes alive");
    tensors.push_back(std::move(t).value());
  }
  if (tensors.empty()) return 0;
  OutgoingFrame frame(MessageType::result, 1);
  for (const WireTensor& t : tensors) {
    if (t.dtype == tandem::DType::f32) {
      require(to_floats(t).size() == static_cast<std::size_t>(t.numel()), "an f32 tensor converts to floats");
    }
    require(!encode_tensor(frame, t).has_value(), "a decoded tensor re-encodes");
  }
  require(frame.finish(), "the re-encoded tensors fit a frame");
  return 0;
}
