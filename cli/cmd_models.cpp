// tandem models: list the zoo (and a model directory's models), or show one
// model's layers.

#include <algorithm>
#include <filesystem>
#include <ranges>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/commands.hpp"
#include "models/graph_builder.hpp"

namespace tandem::cli {
namespace {

// NAME for every NAME.pt of the directory (tandem-torch imports them).
std::vector<std::string> directory_models(const std::string& dir) {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    if (entry.path().extension() == ".pt") names.push_back(entry.path().stem().string());
  }
  if (ec) throw std::runtime_error(fmt::format("--model-dir {}: {}", dir, ec.message()));
  std::sort(names.begin(), names.end());
  return names;
}

int list_models(const Context& context, const std::string& model_dir, bool json) {
  std::vector<ModelRef> refs;
  for (const auto& name : zoo_names()) refs.push_back({name, "", ""});
  if (!model_dir.empty()) {
    for (const auto& name : directory_models(model_dir)) refs.push_back({name, "", model_dir});
  }
  nlohmann::json out = nlohmann::json::array();
  if (!json) {
    fmt::print("{:<14} {:>6} {:>6} {:<6} {:>12} {:>8}  {}\n", "model", "nodes", "edges", "shape", "params", "GFLOPs",
               "input");
  }
  for (const auto& ref : refs) {
    const GraphDesc g = context.graph(ref);
    const char* shape = g.is_chain() ? "chain" : "dag";
    const std::string inputs = fmt::format("{}", fmt::join(g.input_shapes() | std::views::transform(shape_string), ","));
    if (json) {
      out.push_back({{"name", g.name()},
                     {"nodes", g.size()},
                     {"edges", g.edge_count()},
                     {"shape", shape},
                     {"params", g.param_count()},
                     {"gflops", g.flops() / 1e9},
                     {"input_shape", g.input_shape()},
                     {"inputs", inputs}});
    } else {
      fmt::print("{:<14} {:>6} {:>6} {:<6} {:>12} {:>8.3f}  {}\n", g.name(), g.size(), g.edge_count(), shape,
                 g.param_count(), g.flops() / 1e9, inputs);
    }
  }
  if (json) fmt::print("{}\n", out.dump(2));
  return 0;
}

}  // namespace

void print_graph(const GraphDesc& g, bool json) {
  if (json) {
    fmt::print("{}\n", to_json(g).dump(2));
    return;
  }
  fmt::print("{}: {} nodes, {} edges, {}, {} params, {:.3f} GFLOPs\n", g.name(), g.size(), g.edge_count(),
             g.is_chain() ? "chain" : "dag", g.param_count(), g.flops() / 1e9);
  fmt::print("{:>4}  {:<28} {:<20} {:<14} {:<16} {:>12} {:>12}\n", "id", "name", "kind", "inputs", "output",
             "out bytes", "MFLOPs");
  for (const Node& n : g.nodes()) {
    std::string kind(to_string(n.kind));
    if (n.kind == OpKind::generic) kind += " " + n.attrs.op;
    std::string name = n.name.size() > 28 ? n.name.substr(0, 25) + "..." : n.name;
    fmt::print("{:>4}  {:<28} {:<20} {:<14} {:<16} {:>12} {:>12.3f}\n", n.id, name, kind,
               fmt::format("{}", fmt::join(n.inputs, ",")), shape_string(n.out_shape), n.output_bytes, n.flops / 1e6);
  }
}

int cmd_models(const Args& args, const Context& context) {
  cxxopts::Options options(args[0],
                           "List the model zoo (and the models of --model-dir), or show one model's layers.\n"
                           "--show takes a zoo name, a model of --model-dir, a TorchScript .pt file (with\n"
                           "--input) or a graph .json file (tandem models --show NAME --json writes one).");
  options.add_options()("show", "show the layers of this model", cxxopts::value<std::string>(), "MODEL")(
      "json", "print JSON instead of a table");
  add_model_flags(options);
  const auto result = app::parse_args(options, args);
  if (!result) return 0;
  const bool json = result->count("json") > 0;
  if (result->count("show")) {
    print_graph(context.graph(model_ref(*result, "show")), json);
    return 0;
  }
  return list_models(context, result->count("model-dir") ? (*result)["model-dir"].as<std::string>() : "", json);
}

}  // namespace tandem::cli
