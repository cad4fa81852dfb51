#pragma once
// Which models a daemon serves, as flags (--models, --seed, --weights-dir,
// --model-dir), and loading them ready to serve (tandem::app_models,
// LibTorch): zoo models built with seeded or stored weights, TorchScript
// models imported from the model directory, each run once so oneDNN has
// built its kernels, logged with its fingerprint.

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <cxxopts.hpp>

namespace tandem {
class Model;
}

namespace tandem::app {

struct ModelOptions {
  std::vector<std::string> names;  // empty or {"all"}: the whole zoo and every model of model_dir
  std::uint64_t seed = 0;
  std::filesystem::path weights_dir;  // <dir>/<model>.tw instead of seeded weights (zoo models)
  std::filesystem::path model_dir;    // NAME.pt + NAME.json served beside the zoo (models/catalog.hpp)
};

/// Adds --models, --seed, --weights-dir and --model-dir; `peer` names the
/// other daemon ("cloud", "edge"), whose choices must match.
void add_model_options(cxxopts::Options& options, const std::string& peer);
/// Reads them back. Throws UsageError for an empty model list.
ModelOptions model_options(const cxxopts::ParseResult& args);

}  // namespace tandem::app
