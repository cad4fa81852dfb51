#pragma once
// Logging set-up shared by the daemons: one --log-level flag, validated (a
// typo is a usage error, not silence), and one line format naming the daemon.

#include <string>
#include <string_view>

#include <cxxopts.hpp>

#include "net/printable.hpp"

namespace tandem::app {

/// Adds --log-level LEVEL (default info) to `options`.
void add_log_options(cxxopts::Options& options);

/// Sets spdlog's level from --log-level and a pattern tagged with `who`
/// ("cloud", "edge"). Throws UsageError listing the levels for an unknown one.
void setup_logging(const cxxopts::ParseResult& args, std::string_view who);

/// Same, from the level's text. Throws UsageError for an unknown level.
void setup_logging(const std::string& level, std::string_view who);

/// Makes text taken from outside (a peer's name, a cut id, a file name) safe
/// to log on one line; one implementation for every library (net/printable.hpp).
using net::printable;

}  // namespace tandem::app
