#include "app/logging.hpp"

#include <array>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "app/cli.hpp"

namespace tandem::app {
namespace {

struct Level {
  std::string_view name;
  spdlog::level::level_enum level;
};

constexpr std::array k_levels{
    Level{"trace", spdlog::level::trace}, Level{"debug", spdlog::level::debug},
    Level{"info", spdlog::level::info},   Level{"warn", spdlog::level::warn},
    Level{"error", spdlog::level::err},   Level{"critical", spdlog::level::critical},
    Level{"off", spdlog::level::off},
};

}  // namespace

void add_log_options(cxxopts::Options& options) {
  options.add_options()("log-level", "trace, debug, info, warn, error, critical or off",
                        cxxopts::value<std::string>()->default_value("info"), "LEVEL");
}

void setup_logging(const cxxopts::ParseResult& args, std::string_view who) {
  setup_logging(args["log-level"].as<std::string>(), who);
}

void setup_logging(const std::string& level, std::string_view who) {
  for (const auto& l : k_levels) {
    if (l.name != level) continue;
    spdlog::set_level(l.level);
    spdlog::set_pattern(fmt::format("%Y-%m-%d %H:%M:%S.%e {} %^%l%$ %v", who));
    return;
  }
  std::vector<std::string_view> names;
  for (const auto& l : k_levels) names.push_back(l.name);
  throw UsageError(fmt::format("--log-level '{}' is not one of {}", printable(level),
                               fmt::join(names, ", ")));
}

}  // namespace tandem::app
