// Tensor files (models/model.hpp load_tensors: `tandem run --save-input`,
// the edge daemon's input_file) on arbitrary bytes. Properties: load_tensors
// throws only std::runtime_error; what it loads is contiguous f32, and loads
// again when the shapes it found are required.

#include <cstddef>
#include <cstdint>
#include <span>
#include <stdexcept>
#include <vector>

#include "fuzz/fuzz_support.hpp"
#include "models/model.hpp"

using tandem::fuzz::require;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static tandem::fuzz::InputFile file("tandem-fuzz-tensors");
  const auto& path = file.write(std::span(data, size));
  std::vector<at::Tensor> tensors;
  try {
    tensors = tandem::load_tensors(path);
  } catch (const std::runtime_error&) {
    return 0;
  }
  require(!tensors.empty(), "a loaded file holds a tensor");
  std::vector<tandem::Shape> shapes;
  for (const at::Tensor& t : tensors) {
    require(t.scalar_type() == at::kFloat && t.is_contiguous(), "loaded tensors are contiguous f32");
    shapes.emplace_back(t.sizes().begin(), t.sizes().end());
  }
  try {
    require(tandem::load_tensors(path, &shapes).size() == tensors.size(), "the same file loads with its shapes");
  } catch (const std::runtime_error&) {
    require(false, "the same file loads with its shapes required");
  }
  return 0;
}
