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

/// What a binary can do that the commands need.
struct Context {
  /// The graph of a model named on the command line: a zoo name, a graph
  /// JSON file, or (tandem-torch) more. Throws app::UsageError for an unknown
  /// name, NeedsTorch when only tandem-torch can load it.
  std::function<GraphDesc(const std::string& model)> graph;
};

int cmd_models(const Args& args, const Context& context);
int cmd_plan(const Args& args, const Context& context);
int cmd_submit(const Args& args, const Context& context);
int cmd_run(const Args& args, const Context& context);      // tandem-torch
int cmd_profile(const Args& args, const Context& context);  // tandem-torch

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

/// The torch-free graph resolver: zoo names and graph JSON files.
GraphDesc resolve_graph(const std::string& model);

}  // namespace tandem::cli
