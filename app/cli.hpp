#pragma once
// Command-line scaffolding shared by every executable (the daemons, the
// tandem command, the benchmarks): one way to parse flags, print --help,
// refuse a bad flag, and turn an exception into one line and an exit status.
//
// Exit statuses: 0 success (and --help), 1 a runtime failure (a file that
// cannot be read, an address in use, a failed task), 2 a usage error (an
// unknown flag, a bad value, a stray argument).

#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <cxxopts.hpp>

namespace tandem::app {

/// A usage error: bad flag, bad value, unknown name. One line, exit status 2.
class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

inline constexpr int k_exit_ok = 0;
inline constexpr int k_exit_failure = 1;
inline constexpr int k_exit_usage = 2;

/// Adds -h/--help, then parses `args` (args[0] is the program name as shown
/// in messages). Prints the help to stdout and returns std::nullopt when
/// --help was given. Throws UsageError on an unknown flag, a bad value or a
/// stray positional argument.
std::optional<cxxopts::ParseResult> parse_args(cxxopts::Options& options,
                                               const std::vector<std::string>& args);
/// The same for main()'s argc/argv.
std::optional<cxxopts::ParseResult> parse_args(cxxopts::Options& options, int argc,
                                               const char* const* argv);

/// Runs `body`; an exception becomes "<program>: <message>" on stderr and exit
/// status 2 (UsageError) or 1 (anything else). Returns body's status otherwise.
int run_main(std::string_view program, const std::function<int()>& body);

/// `parse(text)` of a string flag; a std::invalid_argument from the parser
/// becomes a UsageError naming the flag ("--bandwidth: invalid bandwidth ...").
template <typename Parse>
auto parse_flag(const cxxopts::ParseResult& args, const std::string& flag, Parse parse) {
  const std::string text = args[flag].as<std::string>();
  try {
    return parse(text);
  } catch (const std::invalid_argument& e) {
    throw UsageError("--" + flag + ": " + e.what());
  }
}

/// The value of a required string flag; throws UsageError naming it when absent.
std::string required(const cxxopts::ParseResult& args, const std::string& flag,
                     std::string_view hint = {});

}  // namespace tandem::app
