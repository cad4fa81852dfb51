#include "app/serving.hpp"

#include <future>

#include <ATen/Parallel.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "models/catalog.hpp"

namespace tandem::app {

namespace {

ModelSet load_here(const ModelOptions& options, int threads) {
  at::set_num_threads(threads);
  const ModelCatalog catalog(options.model_dir);
  std::vector<std::string> names = options.names;
  if (names.empty() || (names.size() == 1 && names.front() == "all")) names = catalog.names();
  ModelSet models;
  for (const auto& name : names) {
    if (!catalog.contains(name)) {
      throw std::invalid_argument(fmt::format("--models: unknown model '{}' (known: {})", name,
                                              fmt::join(catalog.names(), ", ")));
    }
    WeightSource weights{.seed = options.seed};
    if (!options.weights_dir.empty() && is_zoo_model(name)) weights.file = options.weights_dir / (name + ".tw");
    auto model = catalog.load(name, weights);
    model->run(model->make_inputs(0));
    spdlog::info("model {} ready: {} nodes, weights {:016x}", name, model->graph().size(), model->fingerprint());
    models.emplace(name, std::move(model));
  }
  return models;
}

}  // namespace

ModelSet load_serving_models(const ModelOptions& options, int threads) {
  // std::async's thread ends (and libgomp releases its team) before get() returns.
  return std::async(std::launch::async, load_here, std::cref(options), threads).get();
}

}  // namespace tandem::app
