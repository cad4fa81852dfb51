#pragma once
// cxxopts glue shared by the subcommands.

#include <optional>

#include <cxxopts.hpp>

#include "cli/commands.hpp"

namespace tandem::cli {

/// Parses `args` (args[0] is the program name). Returns std::nullopt after
/// printing help when --help was given. Throws CliError on an unknown flag, a
/// bad value, or a stray positional argument.
std::optional<cxxopts::ParseResult> parse_options(cxxopts::Options& options, const Args& args);

}  // namespace tandem::cli
