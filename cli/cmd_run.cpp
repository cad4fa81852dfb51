// tandem run: run a model locally, whole and split, and compare the outputs.

#include <chrono>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <fmt/format.h>

#include "cli/commands.hpp"
#include "models/model.hpp"
#include "models/catalog.hpp"
#include "models/torchscript.hpp"

namespace tandem::cli {
namespace {

double ms_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

double max_rel_diff(const TensorMap& got, const TensorMap& want) {
  double worst = 0;
  for (const auto& [id, w] : want) {
    const double scale = std::max(w.abs().max().item<double>(), 1e-12);
    worst = std::max(worst, (got.at(id) - w).abs().max().item<double>() / scale);
  }
  return worst;
}

bool bitwise_equal(const TensorMap& got, const TensorMap& want) {
  for (const auto& [id, w] : want) {
    if (!at::equal(got.at(id), w)) return false;
  }
  return true;
}

}  // namespace

int cmd_run(const Args& args, const Context&) {
  cxxopts::Options options(
      args[0],
      "Run a model locally, whole and split at one or more cuts, and check that edge side +\n"
      "cloud side gives the same outputs as the whole graph.");
  options.add_options()("model", "a zoo name (see: tandem models), a TorchScript .pt file (with --input) or a model of --model-dir", cxxopts::value<std::string>(), "MODEL")(
      "cut",
      "cut to split at: edge_only, cloud_only, or edge node ids such as 0-12,15 "
      "(repeatable; default: every articulation cut)",
      cxxopts::value<std::vector<std::string>>(), "CUT")(
      "seed", "weight seed (zoo models)", cxxopts::value<std::uint64_t>()->default_value("0"), "N")(
      "weights", "weights file instead of the seed (zoo models)", cxxopts::value<std::string>(), "FILE")(
      "threads", "intra-op threads", cxxopts::value<int>()->default_value("1"), "N")(
      "slowdown", "stretch compute time by F: the nodes run, then one wait of (F-1)x their time", cxxopts::value<double>()->default_value("1"), "F")(
      "save-weights", "write the model's weights to FILE and exit", cxxopts::value<std::string>(), "FILE")(
      "input-seed", "seed of the random input", cxxopts::value<std::uint64_t>()->default_value("1"), "N")(
      "save-input", "write the random input (--input-seed) to FILE, for tasks' input_file, and exit",
      cxxopts::value<std::string>(), "FILE");
  add_model_flags(options);
  const auto result = app::parse_args(options, args);
  if (!result) return 0;
  const ModelRef ref = model_ref(*result);
  const int threads = (*result)["threads"].as<int>();
  const double slowdown = (*result)["slowdown"].as<double>();
  if (threads < 1) throw app::UsageError(fmt::format("--threads {} must be at least 1", threads));
  if (!(slowdown >= 1.0)) throw app::UsageError(fmt::format("--slowdown {} must be at least 1", slowdown));
  at::set_num_threads(threads);

  WeightSource source{.seed = (*result)["seed"].as<std::uint64_t>()};
  if (result->count("weights")) source.file = (*result)["weights"].as<std::string>();
  std::shared_ptr<const Model> model;
  try {
    const std::vector<Shape> inputs = ref.input.empty() ? std::vector<Shape>{} : parse_input_shapes(ref.input);
    model = ModelCatalog(ref.model_dir).load_reference(ref.model, inputs, source);
  } catch (const std::invalid_argument& e) {
    throw app::UsageError(e.what());
  }
  if (result->count("save-weights")) {
    const auto path = (*result)["save-weights"].as<std::string>();
    model->save_weights(path);
    fmt::print("wrote {} weights ({} tensors, fingerprint {:016x}) to {}\n", model->name(),
               model->params().size(), model->fingerprint(), path);
    return 0;
  }
  const auto input_seed = (*result)["input-seed"].as<std::uint64_t>();
  if (result->count("save-input")) {
    const auto path = (*result)["save-input"].as<std::string>();
    const auto inputs = model->make_inputs(input_seed);
    if (inputs.size() == 1) {
      save_tensor(path, inputs.front());
    } else {
      save_tensors(path, inputs);
    }
    fmt::print("wrote a {} input (seed {}) to {}\n", input_shapes_string(model->graph().input_shapes()),
               input_seed, path);
    return 0;
  }
  const GraphDesc& g = model->graph();
  std::vector<Cut> cuts;
  if (result->count("cut")) {
    for (const auto& text : (*result)["cut"].as<std::vector<std::string>>()) {
      try {
        cuts.push_back(Cut::parse(g, text));
      } catch (const std::invalid_argument& e) {
        throw app::UsageError(e.what());
      }
    }
  } else {
    cuts = articulation_cuts(g);
  }

  const RunOptions run_options{.slowdown = slowdown};
  const std::vector<at::Tensor> input = model->make_inputs(input_seed);
  auto t0 = std::chrono::steady_clock::now();
  const TensorMap whole = model->run(input, run_options);
  fmt::print("{}: {} nodes, weights {:016x}, {} thread(s), slowdown {}; whole graph {:.2f} ms\n",
             g.name(), g.size(), model->fingerprint(), threads, slowdown, ms_since(t0));
  fmt::print("{:<24} {:>6} {:>9} {:>12} {:>9} {:>9} {:>11} {:>8}\n", "cut", "edge", "crossing",
             "bytes", "edge ms", "cloud ms", "max rel d", "bitwise");
  bool all_ok = true;
  for (const Cut& cut : cuts) {
    t0 = std::chrono::steady_clock::now();
    TensorMap edge = model->run_edge(cut, input, run_options);
    const double edge_ms = ms_since(t0);
    t0 = std::chrono::steady_clock::now();
    TensorMap outputs = model->run_cloud(cut, edge, run_options);
    const double cloud_ms = ms_since(t0);
    for (NodeId s : g.sinks()) {
      if (cut.on_edge(s)) outputs.emplace(s, edge.at(s));
    }
    const double diff = max_rel_diff(outputs, whole);
    const bool same = bitwise_equal(outputs, whole);
    all_ok = all_ok && diff <= 1e-4;
    std::string label = cut.to_string();
    if (label.size() > 24) label = label.substr(0, 21) + "...";
    fmt::print("{:<24} {:>6} {:>9} {:>12} {:>9.2f} {:>9.2f} {:>11.2e} {:>8}\n", label,
               cut.computed_on_edge(), cut.crossing(g).size(), cut.crossing_bytes(g), edge_ms,
               cloud_ms, diff, same ? "yes" : "no");
  }
  fmt::print("{}\n", all_ok ? "split outputs equal the whole-graph outputs (<= 1e-4 relative)"
                            : "MISMATCH: some split outputs differ from the whole graph");
  return all_ok ? 0 : 1;
}

}  // namespace tandem::cli
