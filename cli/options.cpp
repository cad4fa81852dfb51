#include "cli/options.hpp"

#include <fmt/format.h>

namespace tandem::cli {

std::optional<cxxopts::ParseResult> parse_options(cxxopts::Options& options, const Args& args) {
  options.add_options()("h,help", "show this help");
  std::vector<const char*> argv;
  for (const auto& a : args) argv.push_back(a.c_str());
  try {
    auto result = options.parse(static_cast<int>(argv.size()), argv.data());
    if (result.count("help")) {
      fmt::print("{}\n", options.help());
      return std::nullopt;
    }
    if (!result.unmatched().empty()) {
      throw CliError(fmt::format("unexpected argument '{}' (see --help)", result.unmatched().front()));
    }
    return result;
  } catch (const cxxopts::exceptions::exception& e) {
    throw CliError(fmt::format("{} (see --help)", e.what()));
  }
}

}  // namespace tandem::cli
