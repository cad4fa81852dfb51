// tandem-torch's model resolution: what tandem resolves without LibTorch,
// then TorchScript files and model directories.

#include <fmt/format.h>

#include "cli/commands.hpp"
#include "models/catalog.hpp"
#include "models/torchscript.hpp"

namespace tandem::cli {

GraphDesc resolve_graph_with_torch(const ModelRef& ref) {
  try {
    return resolve_graph(ref);
  } catch (const NeedsTorch&) {
  }
  try {
    const ModelCatalog catalog(ref.model_dir);
    const std::vector<Shape> inputs = ref.input.empty() ? std::vector<Shape>{} : parse_input_shapes(ref.input);
    return catalog.load_reference(ref.model, inputs)->graph();
  } catch (const std::invalid_argument& e) {
    throw app::UsageError(e.what());
  }
}

}  // namespace tandem::cli
