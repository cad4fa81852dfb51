#pragma once
// Which models a daemon serves, as flags (--models, --seed, --weights-dir),
// and loading them ready to serve (tandem::app_models, LibTorch): built,
// weights seeded or read, run once so oneDNN has built its kernels, logged
// with their fingerprints.

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
  std::vector<std::string> names;  // empty or {"all"}: the whole zoo
  std::uint64_t seed = 0;
  std::filesystem::path weights_dir;  // <dir>/<model>.tw instead of seeded weights
};

/// Adds --models, --seed and --weights-dir; `peer` names the other daemon
/// ("cloud", "edge"), whose choices must match.
void add_model_options(cxxopts::Options& options, const std::string& peer);
/// Reads them back. Throws UsageError for an empty model list.
ModelOptions model_options(const cxxopts::ParseResult& args);

}  // namespace tandem::app
