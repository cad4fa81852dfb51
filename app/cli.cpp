#include "app/cli.hpp"

#include <cstdio>
#include <exception>

#include <fmt/format.h>

namespace tandem::app {

std::optional<cxxopts::ParseResult> parse_args(cxxopts::Options& options,
                                               const std::vector<std::string>& args) {
  std::vector<const char*> argv;
  argv.reserve(args.size());
  for (const auto& a : args) argv.push_back(a.c_str());
  return parse_args(options, static_cast<int>(argv.size()), argv.data());
}

std::optional<cxxopts::ParseResult> parse_args(cxxopts::Options& options, int argc,
                                               const char* const* argv) {
  options.add_options()("h,help", "show this help");
  try {
    auto result = options.parse(argc, argv);
    if (result.count("help")) {
      fmt::print("{}\n", options.help());
      return std::nullopt;
    }
    if (!result.unmatched().empty()) {
      throw UsageError(
          fmt::format("unexpected argument '{}' (see --help)", result.unmatched().front()));
    }
    return result;
  } catch (const cxxopts::exceptions::exception& e) {
    throw UsageError(fmt::format("{} (see --help)", e.what()));
  }
}

int run_main(std::string_view program, const std::function<int()>& body) {
  try {
    return body();
  } catch (const UsageError& e) {
    fmt::print(stderr, "{}: {}\n", program, e.what());
    return k_exit_usage;
  } catch (const std::exception& e) {
    fmt::print(stderr, "{}: {}\n", program, e.what());
    return k_exit_failure;
  }
}

std::string required(const cxxopts::ParseResult& args, const std::string& flag,
                     std::string_view hint) {
  if (!args.count(flag)) {
    throw UsageError(hint.empty() ? fmt::format("--{} is required", flag)
                                  : fmt::format("--{} is required ({})", flag, hint));
  }
  return args[flag].as<std::string>();
}

}  // namespace tandem::app
