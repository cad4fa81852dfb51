// Every executable's flags from the outside: --help, bad flags and bad
// values are one line and exit status 2; tandem runs tandem-torch for the
// commands that need LibTorch and plans the zoo without it.

#include <chrono>
#include <cstdio>
#include <regex>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "daemon_process.hpp"

namespace tandem {
namespace {

using namespace std::chrono_literals;
using test::DaemonProcess;

const std::string k_bin = TANDEM_BIN_DIR;
const std::string k_profiles = TANDEM_PROFILES_DIR;

struct Outcome {
  int status = -1;
  std::string output;
};

Outcome run(const std::string& exe, const std::vector<std::string>& args) {
  DaemonProcess p(k_bin + "/" + exe, args);
  const auto status = p.wait_exit(120s);
  return {status.value_or(-1), p.output()};
}

int lines(const std::string& text) { return static_cast<int>(std::count(text.begin(), text.end(), '\n')); }

TEST(Cli, HelpExitsZeroForEveryExecutable) {
  for (const auto& [exe, args] : std::vector<std::pair<std::string, std::vector<std::string>>>{
           {"cloud_daemon", {"--help"}},
           {"edge_daemon", {"--help"}},
           {"tandem", {"--help"}},
           {"tandem", {"plan", "--help"}},
           {"tandem", {"submit", "--help"}},
           {"tandem", {"models", "--help"}},
           {"tandem", {"run", "--help"}},
           {"tandem", {"profile", "--help"}}}) {
    const Outcome o = run(exe, args);
    EXPECT_EQ(o.status, 0) << exe << " " << args.front() << "\n" << o.output;
    EXPECT_NE(o.output.find("--"), std::string::npos) << o.output;
  }
}

TEST(Cli, BadFlagsAndValuesAreOneLineAndStatusTwo) {
  const std::vector<std::pair<std::string, std::vector<std::string>>> cases{
      {"cloud_daemon", {"--log-level", "nonsense", "--key-file", "k"}},
      {"edge_daemon", {"--log-level", "nonsense", "--no-cloud"}},
      {"cloud_daemon", {"--no-such-flag"}},
      {"edge_daemon", {"--no-cloud", "--emulate-link", "5.85mbit,20ms"}},
      {"edge_daemon", {"--no-cloud", "--control-max-line", "12parsecs"}},
      {"edge_daemon", {"--no-cloud", "--threads", "0"}},
      {"cloud_daemon", {"--listen", "127.0.0.1:99999", "--key-file", "k"}},
      {"tandem", {"plan", "--model", "vgg16", "--bandwidth", "5mbps"}},
      {"tandem", {"plan", "--model", "nosuch", "--bandwidth", "5mbit"}},
      {"tandem", {"submit", "--models", "lenet", "--objective", "speed"}},
      {"tandem", {"submit", "--models", "lenet", "--start-at", "1000"}},  // 1970
      {"tandem", {"run", "--model", "lenet", "--threads", "0"}},
      {"tandem", {"frobnicate"}},
  };
  for (const auto& [exe, args] : cases) {
    const Outcome o = run(exe, args);
    EXPECT_EQ(o.status, 2) << exe << " " << args.front() << "\n" << o.output;
    EXPECT_EQ(lines(o.output), 1) << exe << "\n" << o.output;
  }
  const Outcome level = run("edge_daemon", {"--log-level", "nonsense", "--no-cloud"});
  EXPECT_EQ(level.output,
            "edge_daemon: --log-level 'nonsense' is not one of trace, debug, info, warn, error, critical, off\n");
}

TEST(Cli, TandemPlansTheZooWithoutLibTorchAndRunsModelsThroughTandemTorch) {
  // The front end does not link LibTorch at all.
  FILE* ldd = ::popen(("ldd " + k_bin + "/tandem").c_str(), "r");
  ASSERT_NE(ldd, nullptr);
  std::string libs;
  char buf[512];
  while (std::fgets(buf, sizeof buf, ldd)) libs += buf;
  ::pclose(ldd);
  EXPECT_EQ(libs.find("libtorch"), std::string::npos) << libs;

  const Outcome plan = run("tandem", {"plan", "--model", "vgg16", "--bandwidth", "5.85mbit", "--rtt", "40ms",
                                      "--edge-profile", k_profiles + "/edge.json", "--cloud-profile",
                                      k_profiles + "/cloud.json"});
  EXPECT_EQ(plan.status, 0) << plan.output;
  EXPECT_NE(plan.output.find("vgg16: 41 nodes, chain"), std::string::npos) << plan.output;
  EXPECT_NE(plan.output.find("best:"), std::string::npos) << plan.output;

  const Outcome models = run("tandem", {"models", "--show", "resnet18"});
  EXPECT_EQ(models.status, 0) << models.output;
  EXPECT_NE(models.output.find("resnet18: 70 nodes, 77 edges, dag, 11689512 params"), std::string::npos)
      << models.output;

  const Outcome ran = run("tandem", {"run", "--model", "lenet"});
  EXPECT_EQ(ran.status, 0) << ran.output;
  EXPECT_NE(ran.output.find("split outputs equal the whole-graph outputs"), std::string::npos) << ran.output;
}

}  // namespace
}  // namespace tandem
