// tandem models: list the zoo, or show one model's layers.

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/commands.hpp"
#include "models/graph_builder.hpp"

namespace tandem::cli {
namespace {

int list_models(bool json) {
  nlohmann::json out = nlohmann::json::array();
  if (!json) {
    fmt::print("{:<14} {:>6} {:>6} {:<6} {:>12} {:>8}  {}\n", "model", "nodes", "edges", "shape",
               "params", "GFLOPs", "input");
  }
  for (const auto& name : zoo_names()) {
    const GraphDesc g = zoo_graph(name);
    const char* shape = g.is_chain() ? "chain" : "dag";
    if (json) {
      out.push_back({{"name", name},
                     {"nodes", g.size()},
                     {"edges", g.edge_count()},
                     {"shape", shape},
                     {"params", g.param_count()},
                     {"gflops", g.flops() / 1e9},
                     {"input_shape", g.input_shape()}});
    } else {
      fmt::print("{:<14} {:>6} {:>6} {:<6} {:>12} {:>8.3f}  {}\n", name, g.size(), g.edge_count(),
                 shape, g.param_count(), g.flops() / 1e9, shape_string(g.input_shape()));
    }
  }
  if (json) fmt::print("{}\n", out.dump(2));
  return 0;
}

int show_model(const GraphDesc& g, bool json) {
  const std::string& name = g.name();
  if (json) {
    fmt::print("{}\n", to_json(g).dump(2));
    return 0;
  }
  fmt::print("{}: {} nodes, {} edges, {}, {} params, {:.3f} GFLOPs\n", name, g.size(),
             g.edge_count(), g.is_chain() ? "chain" : "dag", g.param_count(), g.flops() / 1e9);
  fmt::print("{:>4}  {:<28} {:<20} {:<14} {:<16} {:>12} {:>12}\n", "id", "name", "kind", "inputs",
             "output", "out bytes", "MFLOPs");
  for (const Node& n : g.nodes()) {
    fmt::print("{:>4}  {:<28} {:<20} {:<14} {:<16} {:>12} {:>12.3f}\n", n.id, n.name,
               to_string(n.kind), fmt::format("{}", fmt::join(n.inputs, ",")),
               shape_string(n.out_shape), n.output_bytes, n.flops / 1e6);
  }
  return 0;
}

}  // namespace

int cmd_models(const Args& args, const Context& context) {
  cxxopts::Options options(args[0], "List the model zoo, or show one model's layers.");
  options.add_options()("show", "show the layers of model NAME (a zoo name or a graph .json file)",
                        cxxopts::value<std::string>(), "NAME")("json", "print JSON instead of a table");
  const auto result = app::parse_args(options, args);
  if (!result) return 0;
  const bool json = result->count("json") > 0;
  if (result->count("show")) return show_model(context.graph((*result)["show"].as<std::string>()), json);
  return list_models(json);
}

}  // namespace tandem::cli
