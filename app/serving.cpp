#include "app/serving.hpp"

#include <spdlog/spdlog.h>

namespace tandem::app {

ModelSet load_serving_models(const ModelOptions& options) {
  ModelSet models = load_models(options.names, options.seed, options.weights_dir);
  for (const auto& [name, model] : models) {
    model->run(model->make_input(0));
    spdlog::info("model {} ready: {} nodes, weights {:016x}", name, model->graph().size(),
                 model->fingerprint());
  }
  return models;
}

}  // namespace tandem::app
