// tandem: the command-line front end (models, profile, plan, submit).

#include <cstdio>
#include <exception>
#include <functional>
#include <string_view>

#include <fmt/format.h>

#include "cli/commands.hpp"

namespace {

struct Command {
  std::string_view name;
  std::string_view summary;
  std::function<int(const tandem::cli::Args&)> run;
};

const Command k_commands[] = {
    {"models", "list the model zoo, or show one model's layers", tandem::cli::cmd_models},
    {"run", "run a model locally, whole and split at cuts, and compare outputs",
     tandem::cli::cmd_run},
    {"submit", "submit a task queue to an edge daemon and summarise the results",
     tandem::cli::cmd_submit},
    {"profile", "measure this machine into a device profile, or validate one",
     tandem::cli::cmd_profile},
    {"plan", "choose the edge/cloud split of a model for a link, with its alternatives",
     tandem::cli::cmd_plan},
};

void print_usage(std::FILE* to) {
  fmt::print(to, "usage: tandem <command> [options]   (tandem <command> --help for details)\n\n"
                 "commands:\n");
  for (const auto& c : k_commands) fmt::print(to, "  {:<10} {}\n", c.name, c.summary);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    print_usage(stderr);
    return 2;
  }
  const std::string_view name = argv[1];
  if (name == "--help" || name == "-h" || name == "help") {
    print_usage(stdout);
    return 0;
  }
  for (const auto& c : k_commands) {
    if (c.name != name) continue;
    tandem::cli::Args args{fmt::format("tandem {}", name)};
    for (int i = 2; i < argc; ++i) args.emplace_back(argv[i]);
    try {
      return c.run(args);
    } catch (const tandem::cli::CliError& e) {
      fmt::print(stderr, "tandem {}: {}\n", name, e.what());
      return 2;
    } catch (const std::exception& e) {
      fmt::print(stderr, "tandem {}: {}\n", name, e.what());
      return 1;
    }
  }
  fmt::print(stderr, "tandem: unknown command '{}' (try: tandem --help)\n", name);
  return 2;
}
