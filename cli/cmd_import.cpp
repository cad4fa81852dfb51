// tandem import: a TorchScript file as tandem's graph — the layers it
// becomes and how each TorchScript operator was treated.

#include <fstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/commands.hpp"
#include "models/torchscript.hpp"

namespace tandem::cli {
namespace {

std::string counts(const std::map<std::string, int>& m) {
  std::vector<std::string> items;
  for (const auto& [name, n] : m) items.push_back(fmt::format("{} ×{}", name, n));
  return items.empty() ? "none" : fmt::format("{}", fmt::join(items, ", "));
}

}  // namespace

int cmd_import(const Args& args, const Context&) {
  cxxopts::Options options(
      args[0],
      "Import a TorchScript file (torch.jit.trace or torch.jit.script, frozen or not) and show the graph it\n"
      "becomes: nodes, edges, chain/DAG, parameters, GFLOPs, each node's kind, shape, bytes and FLOPs, and\n"
      "how each TorchScript operator was mapped, folded or left out. The file then works wherever a zoo\n"
      "name does: tandem plan|run|profile|models --show, and the daemons' --model-dir.");
  options.add_options()("input", "input shape(s), e.g. 1x3x224x224 (several inputs: 1x3x32x32,1x10)",
                        cxxopts::value<std::string>(), "SHAPES")(
      "name", "the model's name (default: the file's stem)", cxxopts::value<std::string>(), "NAME")(
      "json", "print JSON instead of tables")(
      "save-graph", "also write the graph as JSON to FILE (tandem plan --model FILE needs no LibTorch)",
      cxxopts::value<std::string>(), "FILE");
  options.parse_positional({"file"});
  options.add_options()("file", "the TorchScript file", cxxopts::value<std::string>(), "FILE.pt");
  options.positional_help("FILE.pt");
  const auto result = app::parse_args(options, args);
  if (!result) return 0;
  const std::string file = app::required(*result, "file", "tandem import FILE.pt --input 1x3x224x224");
  ImportOptions io;
  io.inputs = app::parse_flag(*result, "input", parse_input_shapes);
  if (result->count("name")) io.name = (*result)["name"].as<std::string>();
  ImportReport report;
  const auto model = import_torchscript(file, io, &report);
  const GraphDesc& g = model->graph();
  if (result->count("save-graph")) {
    const std::string out = (*result)["save-graph"].as<std::string>();
    std::ofstream f(out);
    if (!(f << to_json(g).dump(1) << '\n')) throw std::runtime_error(fmt::format("cannot write {}", out));
  }
  if (result->count("json")) {
    nlohmann::json mapped = nlohmann::json::object();
    for (const auto& [op, kinds] : report.mapped) mapped[op] = kinds;
    nlohmann::json out{{"graph", to_json(g)},
                       {"fingerprint", fmt::format("{:016x}", model->fingerprint())},
                       {"inputs", input_shapes_string(g.input_shapes())},
                       {"mapped", mapped},
                       {"folded", report.folded},
                       {"ignored", report.ignored},
                       {"constant_outputs", report.constant_outputs},
                       {"was_frozen", report.was_frozen},
                       {"seconds", report.seconds}};
    fmt::print("{}\n", out.dump(2));
    return 0;
  }
  fmt::print("imported {} in {:.2f} s ({}), input {}, weights {:016x}\n", file, report.seconds,
             report.was_frozen ? "already frozen" : "frozen on import", input_shapes_string(g.input_shapes()),
             model->fingerprint());
  print_graph(g, false);
  fmt::print("\n{:<28} {:<20} {:>6}\n", "TorchScript operator", "node kind", "nodes");
  for (const auto& [op, kinds] : report.mapped) {
    for (const auto& [kind, n] : kinds) fmt::print("{:<28} {:<20} {:>6}\n", op, kind, n);
  }
  fmt::print("folded into constants under this input shape: {}\n", counts(report.folded));
  if (!report.ignored.empty()) fmt::print("left out (side effects only): {}\n", counts(report.ignored));
  if (!report.constant_outputs.empty()) {
    fmt::print("outputs that do not depend on the input (not part of the graph): {}\n",
               fmt::join(report.constant_outputs, ", "));
  }
  return 0;
}

}  // namespace tandem::cli
