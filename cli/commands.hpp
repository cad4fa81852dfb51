#pragma once
// Subcommands of the `tandem` CLI. Each parses its own flags and returns the
// process exit code; errors are thrown as CliError (one line, exit 2) or any
// std::exception (one line, exit 1), both printed by main().

#include <stdexcept>
#include <string>
#include <vector>

namespace tandem::cli {

/// A usage error: bad flag, bad value, unknown name.
class CliError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Arguments after the subcommand name; args[0] is "tandem <subcommand>".
using Args = std::vector<std::string>;

int cmd_models(const Args& args);
int cmd_run(const Args& args);
int cmd_profile(const Args& args);
int cmd_plan(const Args& args);
int cmd_submit(const Args& args);

}  // namespace tandem::cli
