#include "app/models.hpp"

#include "app/cli.hpp"
#include "app/endpoint.hpp"

namespace tandem::app {

void add_model_options(cxxopts::Options& options, const std::string& peer) {
  options.add_options()
      ("models", "models to load, comma-separated, or all (see: tandem models)",
       cxxopts::value<std::string>()->default_value("all"), "LIST")
      ("seed", "weights seed (must match the " + peer + "'s)",
       cxxopts::value<std::uint64_t>()->default_value("0"), "N")
      ("weights-dir", "load <DIR>/<model>.tw instead of seeded weights (the " + peer + " needs the same files)",
       cxxopts::value<std::string>(), "DIR")
      ("model-dir", "also serve every DIR/NAME.pt (TorchScript) with DIR/NAME.json = {\"input\": \"1x3x224x224\"}; "
       "the " + peer + " needs the same files", cxxopts::value<std::string>(), "DIR");
}

ModelOptions model_options(const cxxopts::ParseResult& args) {
  ModelOptions o;
  o.names = split_list(args["models"].as<std::string>());
  if (o.names.empty()) throw UsageError("--models lists no model");
  o.seed = args["seed"].as<std::uint64_t>();
  if (args.count("weights-dir")) o.weights_dir = args["weights-dir"].as<std::string>();
  if (args.count("model-dir")) o.model_dir = args["model-dir"].as<std::string>();
  return o;
}

}  // namespace tandem::app
