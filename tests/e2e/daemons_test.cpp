// End-to-end: real cloud_daemon and edge_daemon processes on 127.0.0.1 with
// OS-chosen ports, driven through the control port.

#include <csignal>
#include <filesystem>
#include <map>
#include <random>
#include <sstream>



#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <zlib.h>

#include "control/client.hpp"
#include "daemon_process.hpp"
#include "models/catalog.hpp"
#include "models/model.hpp"
#include "testutil/http_get.hpp"
#include "testutil/tasks.hpp"
#include "testutil/test_pki.hpp"
#include "testutil/tensor_compare.hpp"

namespace tandem {
namespace {

using namespace std::chrono_literals;
using control::TaskResult;
using control::TaskSpec;
using test::DaemonProcess;

constexpr auto k_start_timeout = 180s;  // loading vgg16 and warm-up runs
constexpr auto k_task_timeout = 120s;

const std::string k_bin = TANDEM_BIN_DIR;
const std::string k_profiles = TANDEM_PROFILES_DIR;

struct Daemons {
  std::string key = test::make_key_file("e2e");
  std::unique_ptr<DaemonProcess> cloud, edge;
  std::uint16_t cloud_port = 0, control_port = 0;

  void start_cloud(const std::string& models, std::uint16_t port = 0, std::vector<std::string> extra = {}) {
    std::vector<std::string> args{"--listen", "127.0.0.1:" + std::to_string(port), "--threads", "1",
                                  "--key-file", key, "--models", models};
    args.insert(args.end(), extra.begin(), extra.end());
    cloud = std::make_unique<DaemonProcess>(k_bin + "/cloud_daemon", args);
    cloud_port = cloud->wait_for_port("listening", k_start_timeout);
    ASSERT_NE(cloud_port, 0) << cloud->output();
  }

  void start_edge(const std::string& models, std::vector<std::string> extra = {}) {
    std::vector<std::string> args{"--cloud", "127.0.0.1:" + std::to_string(cloud_port), "--key-file",
                                  key, "--profiles", k_profiles, "--control", "127.0.0.1:0",
                                  "--threads", "1", "--models", models, "--probe-interval",
                                  "200ms"};
    args.insert(args.end(), extra.begin(), extra.end());
    edge = std::make_unique<DaemonProcess>(k_bin + "/edge_daemon", args);
    control_port = edge->wait_for_port("control listening", k_start_timeout);
    ASSERT_NE(control_port, 0) << edge->output();
  }
};

struct Control : control::Client {
  explicit Control(std::uint16_t port) : control::Client("127.0.0.1", port) {}
  /// The next task result; a failing expectation (and nullopt) for anything else.
  std::optional<TaskResult> result(std::chrono::milliseconds timeout) {
    auto reply = next(timeout);
    if (!reply) return std::nullopt;
    if (auto* r = std::get_if<TaskResult>(&*reply)) return *r;
    if (auto* e = std::get_if<control::ErrorReply>(&*reply)) {
      TaskResult failed;
      failed.task = e->task.value_or(~0ull);
      failed.error = e->error;
      return failed;
    }
    ADD_FAILURE() << "expected a task result";
    return std::nullopt;
  }
};

TaskSpec task(std::uint64_t id, const std::string& model, std::uint64_t seed = 0, const std::string& plan = "auto",
              bool outputs = false) {
  return testutil::make_task(id, model, seed, plan, outputs);
}

std::string show(const TaskResult& r) { return control::to_line(r); }

using testutil::max_rel_diff;

// A split in the middle of the graph that is never edge-only or cloud-only.
std::string middle_cut(const GraphDesc& g) {
  if (g.is_chain()) return "split:" + std::to_string(g.size() / 2);
  const auto cuts = articulation_cuts(g);
  return "cut:" + cuts[cuts.size() / 2].to_string();
}

TEST(Daemons, SplitOutputsEqualLocalExecutionForEveryModel) {
  Daemons d;
  ASSERT_NO_FATAL_FAILURE(d.start_cloud("all"));
  ASSERT_NO_FATAL_FAILURE(d.start_edge("all"));
  Control control(d.control_port);
  std::map<std::uint64_t, std::pair<std::string, std::uint64_t>> sent;  // task -> (model, seed)
  std::map<std::string, std::string> middle;
  std::uint64_t id = 0;
  for (const auto& name : zoo_names()) {
    const auto model = build_model(name);
    middle[name] = middle_cut(model->graph());
    for (const std::string& plan : std::vector<std::string>{"auto", "edge_only", "cloud_only", middle[name]}) {
      control.submit(task(id, name, 100 + id, plan, true));
      sent[id] = {name, 100 + id};
      ++id;
    }
  }
  std::map<partition::Placement, int> placements;
  for (std::size_t i = 0; i < sent.size(); ++i) {
    const auto r = control.result(k_task_timeout);
    ASSERT_TRUE(r.has_value()) << "result " << i << " missing\n" << d.edge->output();
    ASSERT_TRUE(r->ok) << show(*r);
    EXPECT_FALSE(r->fallback) << show(*r);
    const auto& [name, seed] = sent.at(r->task);
    const auto model = build_model(name);
    const at::Tensor want = model->run(model->make_input(seed)).begin()->second;
    EXPECT_LE(max_rel_diff(r->outputs, want), 1e-4) << name << " plan " << r->cut;
    ++placements[r->placement.value()];
  }
  // Every forced placement happened: edge_only, cloud_only and mid-graph splits.
  const auto n = static_cast<int>(zoo_names().size());
  EXPECT_GE(placements[partition::Placement::edge_only], n);
  EXPECT_GE(placements[partition::Placement::cloud_only], n);
  EXPECT_GE(placements[partition::Placement::split], n);
}

TEST(Daemons, KilledCloudLosesNoTaskAndEdgeReconnects) {
  Daemons d;
  const std::string models = "resnet18,lenet";
  ASSERT_NO_FATAL_FAILURE(d.start_cloud(models));
  ASSERT_NO_FATAL_FAILURE(d.start_edge(models));
  Control control(d.control_port);
  const auto r18 = build_model("resnet18");
  const std::string cut = middle_cut(r18->graph());
  constexpr int k_tasks = 24;
  for (int i = 0; i < k_tasks; ++i) control.submit(task(i, "resnet18", i, cut, true));
  int results = 0, fallbacks = 0;
  auto check = [&](const TaskResult& r) {
    ASSERT_TRUE(r.ok) << show(r);
    const at::Tensor want = r18->run(r18->make_input(r.task)).begin()->second;
    EXPECT_LE(max_rel_diff(r.outputs, want), 1e-4);
    if (r.fallback) {
      ++fallbacks;
      EXPECT_FALSE(r.fallback_reason.empty());
    }
  };
  for (; results < 3; ++results) {
    const auto r = control.result(k_task_timeout);
    ASSERT_TRUE(r.has_value()) << d.edge->output();
    check(*r);
  }
  const std::uint16_t port = d.cloud_port;
  d.cloud->signal(SIGKILL);
  ASSERT_TRUE(d.cloud->wait_exit(30s).has_value());
  for (; results < k_tasks; ++results) {
    const auto r = control.result(k_task_timeout);
    ASSERT_TRUE(r.has_value()) << "task lost after the cloud died\n" << d.edge->output();
    check(*r);
  }
  EXPECT_GT(fallbacks, 0) << "the kill should have hit tasks in flight or queued";

  // The cloud comes back on the same port: the edge reconnects and splits again.
  ASSERT_NO_FATAL_FAILURE(d.start_cloud(models, port));
  ASSERT_TRUE(d.edge->wait_for_line(std::regex("connection #2"), 60s).has_value())
      << d.edge->output();
  const auto s = control.status(10s);
  ASSERT_TRUE(s.has_value());
  EXPECT_TRUE(s->cloud_connected) << control::to_line(*s);
  for (int i = 0; i < 4; ++i) control.submit(task(100 + i, "resnet18", i, cut));
  for (int i = 0; i < 4; ++i) {
    const auto r = control.result(k_task_timeout);
    ASSERT_TRUE(r.has_value());
    EXPECT_TRUE(r->ok) << show(*r);
    EXPECT_FALSE(r->fallback) << show(*r);
    EXPECT_EQ(r->placement, partition::Placement::split);
  }
}

TEST(Daemons, BadTaskLinesGetErrorsAndTheDaemonGoesOn) {
  Daemons d;
  ASSERT_NO_FATAL_FAILURE(d.start_cloud("lenet"));
  ASSERT_NO_FATAL_FAILURE(d.start_edge("lenet"));
  Control control(d.control_port);
  control.submit(task(1, "nosuchmodel"));
  auto r = control.result(k_task_timeout);
  ASSERT_TRUE(r.has_value());
  EXPECT_FALSE(r->ok);
  EXPECT_NE(r->error.value_or("").find("nosuchmodel"), std::string::npos) << show(*r);
  control.send_line(R"({"task": 2, "model": "lenet", "objective": "speed"})");
  r = control.result(k_task_timeout);
  ASSERT_TRUE(r.has_value());
  EXPECT_FALSE(r->ok);
  EXPECT_EQ(r->task, 2u);
  EXPECT_NE(r->error.value_or("").find("objective"), std::string::npos) << show(*r);
  control.submit(task(3, "lenet", 0, "split:99"));
  r = control.result(k_task_timeout);
  ASSERT_TRUE(r.has_value());
  EXPECT_FALSE(r->ok) << show(*r);
  // Found by fuzz_control: this line used to end the connection's reader
  // without a reply (and leak the connection); now it is one refusal.
  control.send_line(R"({"task": 5, "model": "lenet", "deadline_ms": 1e400})");
  r = control.result(k_task_timeout);
  ASSERT_TRUE(r.has_value());
  EXPECT_FALSE(r->ok);
  EXPECT_NE(r->error.value_or("").find("out of range"), std::string::npos) << show(*r);
  control.submit(task(4, "lenet"));
  r = control.result(k_task_timeout);
  ASSERT_TRUE(r.has_value());
  EXPECT_TRUE(r->ok) << show(*r);
}

// TLS between the daemons (--tls-cert/--tls-key/--tls-ca on both, mutual):
// split tasks give the same outputs as local execution and none falls back;
// an edge without --tls-ca is refused by the TLS handshake (it finishes its
// tasks itself) and the cloud goes on serving the TLS edge.
TEST(Daemons, MutualTlsSplitsMatchLocalExecutionAndAPlainEdgeIsRefused) {
  testutil::TestPki pki;
  Daemons d;
  ASSERT_NO_FATAL_FAILURE(d.start_cloud("lenet,resnet18", 0,
                                        {"--tls-cert", pki.server_cert, "--tls-key", pki.server_key, "--tls-ca",
                                         pki.ca_cert}));
  ASSERT_NO_FATAL_FAILURE(d.start_edge("lenet,resnet18", {"--tls-ca", pki.ca_cert, "--tls-cert", pki.client_cert,
                                                          "--tls-key", pki.client_key}));
  ASSERT_TRUE(d.cloud->wait_for_line(std::regex("client '.*' authenticated .* over (TLS)"), k_start_timeout))
      << d.cloud->output();
  Control control(d.control_port);
  std::map<std::uint64_t, std::pair<std::string, std::uint64_t>> sent;
  std::uint64_t id = 0;
  for (const std::string name : {"lenet", "resnet18"}) {
    const std::string cut = middle_cut(build_model(name)->graph());
    for (const std::string& plan : {cut, std::string("cloud_only")}) {
      control.submit(task(id, name, 300 + id, plan, true));
      sent[id] = {name, 300 + id};
      ++id;
    }
  }
  for (std::size_t i = 0; i < sent.size(); ++i) {
    const auto r = control.result(k_task_timeout);
    ASSERT_TRUE(r.has_value()) << d.edge->output();
    ASSERT_TRUE(r->ok) << show(*r);
    EXPECT_FALSE(r->fallback) << show(*r) << "\n" << d.edge->output();
    EXPECT_NE(r->placement, partition::Placement::edge_only) << show(*r);
    const auto& [name, seed] = sent.at(r->task);
    const auto model = build_model(name);
    EXPECT_LE(max_rel_diff(r->outputs, model->run(model->make_input(seed)).begin()->second), 1e-4) << name;
  }

  // The same cloud, an edge that does not speak TLS: refused, its task computed locally.
  DaemonProcess plain(k_bin + "/edge_daemon",
                      {"--cloud", "127.0.0.1:" + std::to_string(d.cloud_port), "--key-file", d.key, "--profiles",
                       k_profiles, "--control", "127.0.0.1:0", "--threads", "1", "--models", "lenet",
                       "--probe-interval", "200ms"});
  const std::uint16_t plain_port = plain.wait_for_port("control listening", k_start_timeout);
  ASSERT_NE(plain_port, 0) << plain.output();
  ASSERT_TRUE(d.cloud->wait_for_line(std::regex("(TLS handshake failed)"), k_start_timeout)) << d.cloud->output();
  Control plain_control(plain_port);
  plain_control.submit(task(100, "lenet", 1, "cloud_only", true));
  const auto refused = plain_control.result(k_task_timeout);
  ASSERT_TRUE(refused.has_value()) << plain.output();
  ASSERT_TRUE(refused->ok) << show(*refused);
  EXPECT_TRUE(refused->fallback) << show(*refused);

  // The TLS edge is still served.
  control.submit(task(101, "lenet", 2, "cloud_only"));
  const auto again = control.result(k_task_timeout);
  ASSERT_TRUE(again.has_value());
  ASSERT_TRUE(again->ok) << show(*again);
  EXPECT_FALSE(again->fallback) << show(*again);
}

TEST(Daemons, TaskFromAnInputFileMatchesLocalExecution) {
  Daemons d;
  ASSERT_NO_FATAL_FAILURE(d.start_cloud("lenet"));
  const std::filesystem::path dir = d.key + ".inputs";
  std::filesystem::create_directories(dir);
  ASSERT_NO_FATAL_FAILURE(d.start_edge("lenet", {"--input-dir", dir.string()}));
  const auto model = build_model("lenet");
  const at::Tensor x = at::randn({1, 1, 32, 32});
  save_tensor(dir / "x.tensor", x);
  Control control(d.control_port);
  TaskSpec t = task(1, "lenet", 0, "split:4", true);
  t.input_file = "x.tensor";
  control.submit(t);
  auto r = control.result(k_task_timeout);
  ASSERT_TRUE(r.has_value());
  ASSERT_TRUE(r->ok) << show(*r);
  EXPECT_LE(max_rel_diff(r->outputs, model->run(x).begin()->second), 1e-4);
  // Missing, outside the directory, or not a regular file: one message, no clue which.
  const std::vector<std::string> refused{"x.tensor.missing",
                                        "../" + std::filesystem::path(d.key).filename().string(), d.key, "."};
  for (const std::string& name : refused) {
    t = task(2, "lenet");
    t.input_file = name;
    control.submit(t);
    r = control.result(k_task_timeout);
    ASSERT_TRUE(r.has_value());
    EXPECT_FALSE(r->ok);
    EXPECT_NE(r->error.value_or("").find("is not a tensor file under --input-dir"), std::string::npos)
        << name << ": " << show(*r);
  }
  std::filesystem::remove_all(dir);
}

TEST(Daemons, FortyTaskQueueThroughTandemSubmitLosesNothing) {
  Daemons d;
  const std::string models = "lenet,alexnet,resnet18,mobilenet_v2";
  ASSERT_NO_FATAL_FAILURE(d.start_cloud(models));
  ASSERT_NO_FATAL_FAILURE(d.start_edge(models, {"--metrics", "127.0.0.1:0"}));
  const std::uint16_t metrics_port = d.edge->wait_for_port("metrics listening", 10s);
  ASSERT_NE(metrics_port, 0) << d.edge->output();
  DaemonProcess submit(k_bin + "/tandem",
                       {"submit", "--edge", "127.0.0.1:" + std::to_string(d.control_port),
                        "--models", models, "--count", "40", "--shuffle"});
  const auto answered = submit.wait_for_line(std::regex("^([0-9]+) of 40 tasks answered"), 600s);
  ASSERT_TRUE(answered.has_value()) << submit.output();
  EXPECT_EQ(*answered, "40") << submit.output();
  EXPECT_EQ(submit.wait_exit(60s), 0) << submit.output();
  // Per-model counts in the summary add up to the queue.
  const std::string out = submit.output();
  int total = 0;
  const std::regex row("^(lenet|alexnet|resnet18|mobilenet_v2) +([0-9]+) +([0-9]+) ");
  std::istringstream lines(out);
  for (std::string line; std::getline(lines, line);) {
    std::smatch m;
    if (std::regex_search(line, m, row)) {
      total += std::stoi(m[2]);
      EXPECT_EQ(m[3], "0") << line;
    }
  }
  EXPECT_EQ(total, 40) << out;
  std::smatch all;
  ASSERT_TRUE(std::regex_search(out, all, std::regex("\nall +40 +0 "))) << out;

  // The edge's metrics agree with what was submitted.
  const std::string metrics = testutil::http_get(metrics_port);
  EXPECT_NE(metrics.find("200 OK"), std::string::npos) << metrics;
  double tasks = 0;
  const std::regex sample("tandem_edge_tasks_total\\{[^}]*result=\"ok\"\\} ([0-9.]+)");
  for (std::sregex_iterator it(metrics.begin(), metrics.end(), sample), end; it != end; ++it) {
    tasks += std::stod((*it)[1]);
  }
  EXPECT_EQ(tasks, 40) << metrics;
  EXPECT_NE(metrics.find("tandem_edge_task_latency_ms_bucket"), std::string::npos);
  EXPECT_NE(metrics.find("tandem_edge_bandwidth_mbit"), std::string::npos);
}

// TorchScript models from a model directory, through both daemons: the
// planned cut, edge-only, cloud-only and a mid-graph cut all return the
// outputs of local execution; an edge whose file differs is refused.
TEST(Daemons, ImportedModelsFromAModelDirectorySplitExactly) {
  const std::string dir = std::string(TANDEM_TORCHSCRIPT_DIR) + "/model_dir";
  Daemons d;
  const std::string models = "myresnet,twoin";
  ASSERT_NO_FATAL_FAILURE(d.start_cloud(models, 0, {"--model-dir", dir}));
  ASSERT_NO_FATAL_FAILURE(d.start_edge(models, {"--model-dir", dir}));
  const ModelCatalog catalog(dir);
  std::map<std::string, std::shared_ptr<const Model>> local;
  for (const char* name : {"myresnet", "twoin"}) local[name] = catalog.load(name);
  Control control(d.control_port);
  std::map<std::uint64_t, std::string> sent;
  std::uint64_t id = 0;
  for (const auto& [name, model] : local) {
    // twoin has no articulation cut: the inputs, the conv and the mean on the
    // edge send the features input and the mean across.
    const std::string middle = name == "twoin" ? "cut:0-3" : middle_cut(model->graph());
    for (const std::string& plan : {std::string("auto"), std::string("edge_only"), std::string("cloud_only"), middle}) {
      control.submit(task(id, name, 40 + id, plan, true));
      sent[id++] = name;
    }
  }
  std::map<partition::Placement, int> placements;
  for (std::size_t i = 0; i < sent.size(); ++i) {
    const auto r = control.result(k_task_timeout);
    ASSERT_TRUE(r.has_value()) << d.edge->output();
    ASSERT_TRUE(r->ok) << show(*r);
    EXPECT_FALSE(r->fallback) << show(*r);
    const auto& model = local.at(sent.at(r->task));
    const at::Tensor want = model->run(model->make_inputs(40 + r->task)).begin()->second;
    EXPECT_LE(max_rel_diff(r->outputs, want), 1e-4) << sent.at(r->task) << " " << r->cut;
    ++placements[r->placement.value()];
  }
  EXPECT_GE(placements[partition::Placement::cloud_only], 2);
  EXPECT_GE(placements[partition::Placement::split], 2);

  // Another file under the same name: the cloud refuses the edge's fingerprint.
  const auto other = std::filesystem::path(d.key + ".other_dir");
  std::filesystem::create_directories(other);
  std::filesystem::copy_file(std::string(TANDEM_TORCHSCRIPT_DIR) + "/resnet18_scripted.pt", other / "myresnet.pt",
                             std::filesystem::copy_options::overwrite_existing);
  std::filesystem::copy_file(dir + "/myresnet.json", other / "myresnet.json",
                             std::filesystem::copy_options::overwrite_existing);
  DaemonProcess stranger(k_bin + "/edge_daemon",
                         {"--cloud", "127.0.0.1:" + std::to_string(d.cloud_port), "--key-file", d.key, "--profiles",
                          k_profiles, "--control", "127.0.0.1:0", "--models", "myresnet", "--model-dir",
                          other.string()});
  EXPECT_TRUE(stranger.wait_for_line(std::regex("(differ from cloud weights)"), k_start_timeout).has_value())
      << stranger.output();
  std::filesystem::remove_all(other);
}

TEST(Daemons, SigtermStopsBothDaemonsCleanly) {
  Daemons d;
  ASSERT_NO_FATAL_FAILURE(d.start_cloud("lenet"));
  ASSERT_NO_FATAL_FAILURE(d.start_edge("lenet"));
  d.edge->signal(SIGTERM);
  d.cloud->signal(SIGTERM);
  EXPECT_EQ(d.edge->wait_exit(60s), 0) << d.edge->output();
  EXPECT_EQ(d.cloud->wait_exit(60s), 0) << d.cloud->output();
}

// Issue 15 through the real daemons: joint mode answers with the little
// model for a sample forced easy and with the big one for a sample forced
// hard; inline inputs, compressed codecs and the privacy floor.
TEST(Daemons, JointModeAnswersWithTheModelTheMinerChose) {
  Daemons d;
  const std::string models = "mobilenet_v2,resnet18,lenet";
  ASSERT_NO_FATAL_FAILURE(d.start_cloud(models));
  ASSERT_NO_FATAL_FAILURE(d.start_edge(models));
  Control control(d.control_port);
  const auto little = build_model("mobilenet_v2");
  const auto big = build_model("resnet18");
  auto joint = [](std::uint64_t id, control::MinerKind miner, double threshold) {
    TaskSpec t = task(id, "resnet18", 5, "cloud_only", true);
    t.mode = control::TaskMode::joint;
    t.little = "mobilenet_v2";
    t.miner = miner;
    t.threshold = threshold;
    return t;
  };
  control.submit(joint(1, control::MinerKind::confidence, 0.0));  // nothing is below confidence 0: easy
  control.submit(joint(2, control::MinerKind::ibt, 1.0));         // a hard coefficient >= 0: hard
  std::map<std::uint64_t, TaskResult> got;
  for (int i = 0; i < 2; ++i) {
    const auto r = control.result(k_task_timeout);
    ASSERT_TRUE(r.has_value()) << d.edge->output();
    ASSERT_TRUE(r->ok) << show(*r);
    got[r->task] = *r;
  }
  const TaskResult& easy = got.at(1);
  ASSERT_TRUE(easy.joint.has_value()) << show(easy);
  EXPECT_EQ(easy.joint->answered_by, "little") << show(easy);
  EXPECT_FALSE(easy.joint->hard);
  EXPECT_EQ(easy.model, "mobilenet_v2");
  EXPECT_EQ(easy.placement, partition::Placement::edge_only);
  EXPECT_EQ(easy.crossing_bytes, 0);
  EXPECT_LE(max_rel_diff(easy.outputs, little->run(little->make_input(5)).begin()->second), 1e-4);

  const TaskResult& hard = got.at(2);
  ASSERT_TRUE(hard.joint.has_value()) << show(hard);
  EXPECT_EQ(hard.joint->answered_by, "big") << show(hard);
  EXPECT_TRUE(hard.joint->hard);
  EXPECT_EQ(hard.joint->little_top1, easy.top1) << "the same sample, the same little answer";
  EXPECT_EQ(hard.model, "resnet18");
  EXPECT_EQ(hard.placement, partition::Placement::cloud_only);
  EXPECT_GT(hard.crossing_bytes, 0);
  EXPECT_LE(max_rel_diff(hard.outputs, big->run(big->make_input(5)).begin()->second), 1e-4);
  EXPECT_GE(hard.measured_ms, hard.joint->little_ms);

  // An inline input, sent int8+zstd to the cloud: the answer of that tensor, within int8's error.
  const auto lenet = build_model("lenet");
  const at::Tensor x = lenet->make_input(9);
  TaskSpec inline_task = task(3, "lenet", 0, "cloud_only", true);
  inline_task.input = control::InlineTensor{{x.sizes().begin(), x.sizes().end()},
                                            {x.data_ptr<float>(), x.data_ptr<float>() + x.numel()}};
  inline_task.codec = control::CodecChoice{false, partition::Codec::int8_zstd};
  control.submit(inline_task);
  auto r = control.result(k_task_timeout);
  ASSERT_TRUE(r.has_value());
  ASSERT_TRUE(r->ok) << show(*r);
  EXPECT_EQ(r->codec, partition::Codec::int8_zstd);
  EXPECT_LE(max_rel_diff(r->outputs, lenet->run(x).begin()->second), 0.05);

  // The privacy floor: a cloud-only plan would send the raw input, so it is refused ...
  TaskSpec refused = task(4, "resnet18", 1, "cloud_only");
  refused.privacy_floor = partition::parse_privacy_floor("layers:1");
  control.submit(refused);
  r = control.result(k_task_timeout);
  ASSERT_TRUE(r.has_value());
  EXPECT_FALSE(r->ok);
  EXPECT_NE(r->error.value_or("").find("privacy floor"), std::string::npos) << show(*r);
  // ... and an automatic plan obeys it.
  TaskSpec floored = task(5, "resnet18", 1, "auto", true);
  floored.privacy_floor = partition::parse_privacy_floor("layers:3");
  control.submit(floored);
  r = control.result(k_task_timeout);
  ASSERT_TRUE(r.has_value());
  ASSERT_TRUE(r->ok) << show(*r);
  EXPECT_EQ(r->privacy_floor, "layers:3");
  const Cut cut = Cut::parse(big->graph(), r->cut);
  EXPECT_TRUE(partition::privacy_violation(big->graph(), floored.privacy_floor, cut).empty()) << r->cut;
  EXPECT_LE(max_rel_diff(r->outputs, big->run(big->make_input(1)).begin()->second), 1e-4);
}

// tandem submit --dataset: labelled images sent inline, accuracy in the
// summary. The labels are lenet's own answers for 15 of 20 images and wrong
// for the other 5, so the accuracy must be exactly 75%; joint mode with
// threshold 0 answers every sample on the edge.
TEST(Daemons, SubmitDatasetReportsAccuracyAgainstTheLabels) {
  const auto lenet = build_model("lenet");
  constexpr std::uint32_t k_images = 20, k_side = 32;
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("tandem-e2e-dataset-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::vector<unsigned char> images{0, 0, 0x08, 3}, labels{0, 0, 0x08, 1};
  const auto dim = [](std::vector<unsigned char>& out, std::uint32_t d) {
    for (int s = 24; s >= 0; s -= 8) out.push_back(static_cast<unsigned char>(d >> s));
  };
  for (std::uint32_t d : {k_images, k_side, k_side}) dim(images, d);
  dim(labels, k_images);
  std::mt19937 rng(5);
  for (std::uint32_t i = 0; i < k_images; ++i) {
    at::Tensor x = at::empty({1, 1, k_side, k_side}, at::kFloat);
    for (std::uint32_t p = 0; p < k_side * k_side; ++p) {
      const auto v = static_cast<unsigned char>(rng() % 256);
      images.push_back(v);
      x.data_ptr<float>()[p] = v;
    }
    const auto top1 = lenet->run(x).begin()->second.argmax().item<std::int64_t>();
    labels.push_back(static_cast<unsigned char>(i < 15 ? top1 : (top1 + 1) % 10));
  }
  for (const auto& [name, bytes] : {std::pair{"t10k-images-idx3-ubyte.gz", &images},
                                    std::pair{"t10k-labels-idx1-ubyte.gz", &labels}}) {
    gzFile f = gzopen((dir / name).c_str(), "wb");
    ASSERT_NE(f, nullptr);
    ASSERT_EQ(gzwrite(f, bytes->data(), static_cast<unsigned>(bytes->size())), static_cast<int>(bytes->size()));
    gzclose(f);
  }
  Daemons d;
  ASSERT_NO_FATAL_FAILURE(d.start_cloud("lenet"));
  ASSERT_NO_FATAL_FAILURE(d.start_edge("lenet"));
  const std::vector<std::string> common{"submit", "--edge", "127.0.0.1:" + std::to_string(d.control_port),
                                        "--models", "lenet", "--dataset", "fashion-mnist:test", "--dataset-dir",
                                        dir.string(), "--quiet", "--max-in-flight", "4"};
  auto single = common;
  single.insert(single.end(), {"--plan", "cloud_only"});
  DaemonProcess sent(k_bin + "/tandem", single);
  EXPECT_EQ(sent.wait_exit(k_task_timeout), 0) << sent.output();
  EXPECT_NE(sent.output().find("accuracy lenet"), std::string::npos) << sent.output();
  EXPECT_NE(sent.output().find("75.00% (15 of 20)"), std::string::npos) << sent.output();

  auto joint = common;
  joint.insert(joint.end(), {"--mode", "joint", "--little", "lenet", "--threshold", "0"});
  DaemonProcess cascade(k_bin + "/tandem", joint);
  EXPECT_EQ(cascade.wait_exit(k_task_timeout), 0) << cascade.output();
  EXPECT_NE(cascade.output().find("75.00% (15 of 20)"), std::string::npos) << cascade.output();
  EXPECT_NE(cascade.output().find("joint: 100.0% answered on the edge by the little model (20 of 20)"),
            std::string::npos)
      << cascade.output();
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace tandem
