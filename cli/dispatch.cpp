#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include "cli/commands.hpp"
#include "models/graph_builder.hpp"

namespace tandem::cli {
namespace {

struct CommandInfo {
  std::string_view name;
  std::string_view summary;
};

constexpr CommandInfo k_commands[] = {
    {"models", "list the model zoo, or show one model's layers"},
    {"run", "run a model locally, whole and split at cuts, and compare outputs"},
    {"submit", "submit a task queue to an edge daemon and summarise the results"},
    {"profile", "measure this machine into a device profile, or validate one"},
    {"plan", "choose the edge/cloud split of a model for a link, with its alternatives"},
    {"import", "import a TorchScript file and show the graph it becomes"},
    {"simulate", "simulate a fleet of edges and clouds behind HAProxy (planner, profiles, queues, failures)"},
};

constexpr std::string_view k_torch_binary = "tandem-torch";

void print_usage(std::FILE* to) {
  fmt::print(to, "usage: tandem <command> [options]   (tandem <command> --help for details)\n\n"
                 "commands:\n");
  for (const auto& c : k_commands) fmt::print(to, "  {:<10} {}\n", c.name, c.summary);
}

// Replaces this process with tandem-torch (next to this binary) on the same
// arguments; returns only on failure.
int exec_torch(char** argv) {
  std::error_code ec;
  const auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  const auto path = (ec ? std::filesystem::path(argv[0]) : self).parent_path() / k_torch_binary;
  ::execv(path.c_str(), argv);
  fmt::print(stderr, "tandem: this command needs {} ({}): {} (build it with scripts/build.sh)\n",
             k_torch_binary, path.string(), std::strerror(errno));
  return app::k_exit_failure;
}

}  // namespace

void add_model_flags(cxxopts::Options& options) {
  options.add_options("model")
      ("input", "input shape(s) of a TorchScript model, e.g. 1x3x224x224 (several: 1x3x32x32,1x10)",
       cxxopts::value<std::string>(), "SHAPES")
      ("model-dir", "also name the models of DIR (NAME.pt with NAME.json holding {\"input\": \"1x3x224x224\"})",
       cxxopts::value<std::string>(), "DIR");
}

ModelRef model_ref(const cxxopts::ParseResult& args, const std::string& flag) {
  ModelRef ref;
  ref.model = app::required(args, flag, "a zoo name (see: tandem models), a TorchScript .pt file, or a graph .json");
  if (args.count("input")) ref.input = args["input"].as<std::string>();
  if (args.count("model-dir")) ref.model_dir = args["model-dir"].as<std::string>();
  return ref;
}

GraphDesc resolve_graph(const ModelRef& ref) {
  const std::string& model = ref.model;
  if (is_zoo_model(model)) return zoo_graph(model);
  if (model.ends_with(".json")) {
    std::ifstream in(model);
    if (!in) throw app::UsageError(fmt::format("cannot open graph file {}", model));
    try {
      return graph_from_json(nlohmann::json::parse(in));
    } catch (const std::exception& e) {
      throw app::UsageError(fmt::format("graph file {}: {}", model, e.what()));
    }
  }
  if (!ref.model_dir.empty() || model.ends_with(".pt") || std::filesystem::is_regular_file(model)) {
    throw NeedsTorch(fmt::format("'{}' needs importing", model));
  }
  throw app::UsageError(fmt::format("unknown model '{}' (known: {}; or a TorchScript .pt file, or a graph .json file)",
                                    model, fmt::join(zoo_names(), ", ")));
}

int dispatch(int argc, char** argv, std::span<const LocalCommand> local, const Context& context,
             bool torch_binary) {
  if (argc < 2) {
    print_usage(stderr);
    return app::k_exit_usage;
  }
  const std::string_view name = argv[1];
  if (name == "--help" || name == "-h" || name == "help") {
    print_usage(stdout);
    return app::k_exit_ok;
  }
  const bool known = std::any_of(std::begin(k_commands), std::end(k_commands),
                                 [&](const CommandInfo& c) { return c.name == name; });
  if (!known) {
    fmt::print(stderr, "tandem: unknown command '{}' (try: tandem --help)\n", name);
    return app::k_exit_usage;
  }
  const auto it = std::find_if(local.begin(), local.end(), [&](const LocalCommand& c) { return c.name == name; });
  if (it == local.end()) {
    if (torch_binary) {
      fmt::print(stderr, "tandem: command '{}' is not built into {}\n", name, k_torch_binary);
      return app::k_exit_failure;
    }
    return exec_torch(argv);
  }
  Args args{fmt::format("tandem {}", name)};
  for (int i = 2; i < argc; ++i) args.emplace_back(argv[i]);
  bool needs_torch = false;
  const int status = app::run_main(args[0], [&] {
    try {
      return it->run(args, context);
    } catch (const NeedsTorch&) {
      if (torch_binary) throw;
      needs_torch = true;
      return app::k_exit_ok;
    }
  });
  return needs_torch ? exec_torch(argv) : status;
}

}  // namespace tandem::cli
