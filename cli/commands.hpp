#pragma once
// Subcommands of the `tandem` CLI. Each parses its own flags and returns the
// process exit code; usage errors are thrown as app::UsageError (one line,
// exit 2), anything else as std::exception (one line, exit 1).
//
// Two binaries share them: `tandem` is torch-free (it starts in milliseconds:
// models, plan and submit on zoo models and graph files), and `tandem-torch`
// links LibTorch for the commands that run or load models. `tandem` runs
// `tandem-torch` (beside itself) for those, so users only ever type `tandem`.

#include <functional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "app/cli.hpp"
#include "models/graph.hpp"

namespace tandem::cli {

/// Arguments after the subcommand name; args[0] is "tandem <subcommand>".
using Args = std::vector<std::string>;

/// Thrown by the torch-free binary for a model only tandem-torch can load.
class NeedsTorch : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// A model as a command line names it: a zoo name, a graph JSON file, a
/// TorchScript file (with --input), or a name from --model-dir.
struct ModelRef {
  std::string model;
  std::string input;      // --input: shapes for a TorchScript file ("1x3x224x224")
  std::string model_dir;  // --model-dir
};

/// Adds --input and --model-dir, the flags every command naming a model takes.
void add_model_flags(cxxopts::Options& options);
/// The model named by `flag` with --input and --model-dir; throws
/// app::UsageError when `flag` is absent.
ModelRef model_ref(const cxxopts::ParseResult& args, const std::string& flag = "model");

/// What a binary can do that the commands need.
struct Context {
  /// The graph of a model named on the command line. Throws app::UsageError
  /// for an unknown name, NeedsTorch when only tandem-torch can load it.
  std::function<GraphDesc(const ModelRef& model)> graph;
};

int cmd_models(const Args& args, const Context& context);
int cmd_plan(const Args& args, const Context& context);
int cmd_submit(const Args& args, const Context& context);
int cmd_simulate(const Args& args, const Context& context);
int cmd_run(const Args& args, const Context& context);      // tandem-torch
int cmd_profile(const Args& args, const Context& context);  // tandem-torch
int cmd_import(const Args& args, const Context& context);   // tandem-torch

/// Prints a graph as `tandem models --show` does: a header and one row per
/// node (or the graph JSON).
void print_graph(const GraphDesc& graph, bool json);

/// A command this binary runs itself.
struct LocalCommand {
  std::string_view name;
  int (*run)(const Args&, const Context&);
};

/// main() of both binaries: finds the subcommand, runs it if it is local,
/// otherwise (or when it throws NeedsTorch) hands the whole command line to
/// tandem-torch (`torch_binary` false) or reports it (`torch_binary` true).
int dispatch(int argc, char** argv, std::span<const LocalCommand> local, const Context& context,
             bool torch_binary);

/// The torch-free graph resolver: zoo names and graph JSON files; anything
/// else throws NeedsTorch.
GraphDesc resolve_graph(const ModelRef& model);
/// tandem-torch's resolver: the torch-free one, then imports.
GraphDesc resolve_graph_with_torch(const ModelRef& model);

}  // namespace tandem::cli
