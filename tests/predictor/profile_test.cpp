#include "predictor/profile.hpp"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "predictor/predictor.hpp"

namespace tandem::predictor {
namespace {

using nlohmann::json;

// input 1x3x16x16 -> conv(3->c, 3x3, pad 1) -> relu -> flatten -> linear(c*256 -> 10)
GraphDesc tiny_graph(std::int64_t c, const std::string& name = "tiny") {
  std::vector<Node> nodes(5);
  for (int i = 0; i < 5; ++i) nodes[static_cast<std::size_t>(i)].id = i;
  nodes[0].name = "input";
  nodes[0].kind = OpKind::input;
  nodes[0].out_shape = {1, 3, 16, 16};
  nodes[1].name = "conv1";
  nodes[1].kind = OpKind::conv2d;
  nodes[1].inputs = {0};
  nodes[1].out_shape = {1, c, 16, 16};
  auto& a = nodes[1].attrs;
  a.in_channels = 3, a.out_channels = c, a.kernel_h = a.kernel_w = 3, a.stride_h = a.stride_w = 1;
  a.pad_h = a.pad_w = 1, a.groups = 1, a.bias = true;
  nodes[2].name = "relu1";
  nodes[2].kind = OpKind::relu;
  nodes[2].inputs = {1};
  nodes[2].out_shape = {1, c, 16, 16};
  nodes[3].name = "flatten";
  nodes[3].kind = OpKind::flatten;
  nodes[3].inputs = {2};
  nodes[3].out_shape = {1, c * 256};
  nodes[4].name = "fc";
  nodes[4].kind = OpKind::linear;
  nodes[4].inputs = {3};
  nodes[4].out_shape = {1, 10};
  nodes[4].attrs.in_features = c * 256, nodes[4].attrs.out_features = 10, nodes[4].attrs.bias = true;
  compute_features(nodes);
  return GraphDesc(name, std::move(nodes));
}

// A fitted profile from synthetic samples of the tiny graph's kinds plus a
// measured table for the tiny graph with 8 channels.
DeviceProfile synthetic_profile() {
  DeviceProfile p;
  p.device = "synthetic";
  p.threads = 2;
  p.slowdown = 1.5;
  p.libtorch_version = "1.13.0";
  p.cpu_model = "test cpu";
  p.date = "2024-01-01T00:00:00Z";
  p.warmup = 1;
  p.repeats = 3;
  p.timer_overhead_ns = 20;
  std::mt19937_64 rng(3);
  std::uniform_real_distribution<> noise(0.97, 1.03);
  for (std::int64_t c : {4, 6, 12, 16, 24, 32, 48, 64, 96, 128}) {
    const GraphDesc g = tiny_graph(c, "sweep");
    for (NodeId id = 1; id < 5; ++id) {
      const NodeFeatures x = node_features(g, id);
      const double ms = (0.005 + 1e-7 * x.macs + 1e-7 * x.output_bytes + 1e-8 * x.param_bytes) *
                        noise(rng);
      p.samples.push_back({g.node(id).kind, x, ms, "sweep"});
    }
  }
  const GraphDesc g = tiny_graph(8);
  for (NodeId id = 1; id < 5; ++id) {
    const double ms = 0.1 * id;
    p.measured.push_back({"tiny", g.node(id).name, id, g.node(id).kind, node_features(g, id), ms});
    p.samples.push_back({g.node(id).kind, node_features(g, id), ms, "model:tiny"});
  }
  p.runs.push_back({"tiny", 4, 1.2, 1.0});
  p.runs.push_back({"other", 40, 3.0, 2.0});
  p.cold_start = {"cold_start_probe", 1.0, 50.0, 5};
  refit(p);
  return p;
}

std::filesystem::path temp_file(const std::string& name) {
  return std::filesystem::temp_directory_path() /
         (name + "_" + std::to_string(::getpid()) + ".json");
}

void write(const std::filesystem::path& path, const std::string& text) {
  std::ofstream(path) << text;
}

std::string load_error(const std::filesystem::path& path) {
  try {
    load_profile(path);
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  return "";
}

TEST(Profile, RoundTripsThroughJsonFile) {
  const DeviceProfile p = synthetic_profile();
  const auto path = temp_file("roundtrip");
  save_profile(p, path);
  const DeviceProfile q = load_profile(path);
  std::filesystem::remove(path);
  EXPECT_EQ(to_json(q), to_json(p));
  EXPECT_EQ(q.device, "synthetic");
  EXPECT_EQ(q.threads, 2);
  EXPECT_DOUBLE_EQ(q.slowdown, 1.5);
  EXPECT_EQ(q.samples.size(), p.samples.size());
  EXPECT_EQ(q.measured.size(), 4u);
  EXPECT_EQ(q.regressions.regressors.size(), p.regressions.regressors.size());
  const GraphDesc unseen = tiny_graph(40, "unseen");
  const Predictor a(p), b(q);
  for (NodeId id = 0; id < 5; ++id) EXPECT_DOUBLE_EQ(a.node_ms(unseen, id), b.node_ms(unseen, id));
}

TEST(Profile, RejectsBadJson) {
  const auto path = temp_file("badjson");
  write(path, "{\"schema_version\": 1, ");
  const std::string err = load_error(path);
  std::filesystem::remove(path);
  EXPECT_NE(err.find(path.string()), std::string::npos) << err;
  EXPECT_NE(err.find("not valid JSON"), std::string::npos) << err;
  // Found by fuzz/profile_fuzz.cpp: a number beyond a double is nlohmann's
  // out_of_range, not parse_error, and escaped load_profile uncaught.
  write(path, "{\"schema_version\": 23991e4004096}");
  const std::string huge = load_error(path);
  std::filesystem::remove(path);
  EXPECT_NE(huge.find("not valid JSON"), std::string::npos) << huge;
}

TEST(Profile, RejectsMissingFile) {
  EXPECT_NE(load_error("/nonexistent/profile.json").find("/nonexistent/profile.json"),
            std::string::npos);
}

struct Broken {
  const char* what;
  std::function<void(json&)> edit;
  const char* expect;  // substring of the message
};

TEST(Profile, RejectsWrongSchemaMissingAndMistypedFields) {
  const std::vector<Broken> cases{
      {"schema", [](json& j) { j["schema_version"] = 99; }, "field 'schema_version' is 99"},
      {"no schema", [](json& j) { j.erase("schema_version"); }, "field 'schema_version' is missing"},
      {"no device", [](json& j) { j.erase("device"); }, "field 'device' is missing"},
      {"threads text", [](json& j) { j["threads"] = "two"; },
       "field 'threads' has the wrong type (expected an integer, got string)"},
      {"no measured", [](json& j) { j.erase("measured"); }, "field 'measured' is missing"},
      {"no coefficients",
       [](json& j) { j["regressions"]["classes"]["relu"].erase("coefficients"); },
       "field 'regressions.classes.relu.coefficients' is missing"},
      {"short coefficients",
       [](json& j) { j["regressions"]["classes"]["relu"]["coefficients"] = {1.0}; },
       "field 'regressions.classes.relu.coefficients' has 1 values"},
      {"unknown form", [](json& j) { j["regressions"]["classes"]["relu"]["form"] = "cubic"; },
       "unknown regression form 'cubic'"},
      {"sample ms", [](json& j) { j["samples"][2]["ms"] = "fast"; }, "field 'samples[2].ms'"},
      {"sample kind", [](json& j) { j["samples"][0]["kind"] = "warp"; },
       "field 'samples[0].kind' names an unknown kind 'warp'"},
      {"table x", [](json& j) { j["measured"][1]["x"] = json::array({1, 2}); },
       "field 'measured[1].x' has 2 values"},
      {"not an object", [](json& j) { j = json::array(); }, "not a profile"},
  };
  const json good = to_json(synthetic_profile());
  for (const Broken& c : cases) {
    json j = good;
    c.edit(j);
    const auto path = temp_file("broken");
    write(path, j.dump());
    const std::string err = load_error(path);
    std::filesystem::remove(path);
    EXPECT_NE(err.find(c.expect), std::string::npos) << c.what << ": got '" << err << "'";
    EXPECT_NE(err.find(path.string()), std::string::npos) << c.what << ": " << err;
  }
}

TEST(Predictor, UsesTheMeasuredTableOnlyForTheSameModelAndShapes) {
  const Predictor pred(synthetic_profile());
  const GraphDesc known = tiny_graph(8);
  for (NodeId id = 1; id < 5; ++id) {
    EXPECT_TRUE(pred.in_table(known, id));
    EXPECT_DOUBLE_EQ(pred.node_ms(known, id), 0.1 * id);
  }
  EXPECT_DOUBLE_EQ(pred.node_ms(known, 0), 0.0);
  // Same model and node names, other shapes: the regression answers.
  const GraphDesc reshaped = tiny_graph(64);
  for (NodeId id = 1; id < 5; ++id) {
    EXPECT_FALSE(pred.in_table(reshaped, id));
    EXPECT_DOUBLE_EQ(pred.node_ms(reshaped, id), pred.regression_ms(reshaped, id));
    EXPECT_GT(pred.node_ms(reshaped, id), 0.0);
  }
  const std::vector<double> all = pred.node_ms(known);
  ASSERT_EQ(all.size(), known.size());
  EXPECT_DOUBLE_EQ(all[3], 0.3);
}

TEST(Predictor, SidesOfACutSumTheirNodesPlusOneRunOverhead) {
  const Predictor pred(synthetic_profile());
  const GraphDesc g = tiny_graph(8);
  const RunOverhead& ov = pred.profile().overhead;
  EXPECT_GT(ov.fraction, 0.0);  // the runs above cost more than their nodes
  const Cut cut = Cut::chain_prefix(g, 2);   // conv1, relu1 on the edge
  EXPECT_NEAR(pred.edge_ms(g, cut), 0.3 + ov.ms(2, 0.3, true), 1e-12);
  EXPECT_NEAR(pred.cloud_ms(g, cut), 0.7 + ov.ms(2, 0.7), 1e-12);
  EXPECT_DOUBLE_EQ(pred.cloud_ms(g, Cut::edge_only(g)), 0.0);
  EXPECT_DOUBLE_EQ(pred.edge_ms(g, Cut::cloud_only(g)), 0.0);
  EXPECT_NEAR(pred.whole_ms(g), 1.0 + ov.ms(4, 1.0, true), 1e-12);
}

TEST(Profile, WithoutModelDropsItsDataAndRefits) {
  const DeviceProfile p = synthetic_profile();
  const DeviceProfile q = without_model(p, "tiny");
  EXPECT_EQ(q.measured.size(), 0u);
  EXPECT_EQ(q.runs.size(), 1u);
  EXPECT_EQ(q.samples.size(), p.samples.size() - 4);
  for (const Sample& s : q.samples) EXPECT_EQ(s.source, "sweep");
  const Predictor lomo(q);
  const GraphDesc g = tiny_graph(8);
  for (NodeId id = 1; id < 5; ++id) EXPECT_FALSE(lomo.in_table(g, id));
}

TEST(Predictor, ACutSidePaysTheColdStartUnlessTheTableHoldsIt) {
  const Predictor pred(synthetic_profile());
  const double cold = pred.profile().overhead.cold_ms;
  const double f = pred.profile().overhead.fraction;
  // The synthetic regression has no pool class to predict the probe with:
  // the probe's cold run beyond its warm one.
  EXPECT_NEAR(cold, 49.0, 1e-12);
  // The measured tiny graph: its table runs started cold at conv1.
  const GraphDesc known = tiny_graph(8);
  const Cut cut = Cut::chain_prefix(known, 2);
  EXPECT_NEAR(pred.edge_ms(known, cut), 0.3 * (1 + f), 1e-12);          // starts at conv1, from the table
  EXPECT_NEAR(pred.cloud_ms(known, cut), 0.7 * (1 + f) + cold, 1e-12);  // starts mid-graph
  EXPECT_DOUBLE_EQ(pred.cold_start_ms(known, true), 0.0);
  EXPECT_DOUBLE_EQ(pred.cold_start_ms(known, false), cold);
  // A graph the profile never ran: every side pays it.
  const GraphDesc unseen = tiny_graph(40, "unseen");
  double sum = 0;
  for (NodeId id = 1; id < 5; ++id) sum += pred.node_ms(unseen, id);
  EXPECT_NEAR(pred.whole_ms(unseen), sum * (1 + f) + cold, 1e-12);
  EXPECT_DOUBLE_EQ(pred.cold_start_ms(unseen, true), cold);
}

TEST(Profile, ColdStartRoundTripsAndIsOptionalInOlderProfiles) {
  const DeviceProfile p = synthetic_profile();
  json j = to_json(p);
  EXPECT_EQ(j.at("cold_start").at("probe"), "cold_start_probe");
  const DeviceProfile q = profile_from_json(j, "test", StoredRegressors::check);
  EXPECT_DOUBLE_EQ(q.cold_start.cold_ms, 50.0);
  EXPECT_DOUBLE_EQ(q.overhead.cold_ms, p.overhead.cold_ms);
  j.erase("cold_start");
  j["run_overhead"].erase("cold_ms");
  const DeviceProfile older = profile_from_json(j, "test", StoredRegressors::check);
  EXPECT_DOUBLE_EQ(older.overhead.cold_ms, 0.0);
  EXPECT_EQ(older.cold_start.runs, 0);
  EXPECT_DOUBLE_EQ(cold_start_residual(older), 0.0);  // nothing measured, nothing added
  j = to_json(p);
  j["cold_start"]["cold_ms"] = -1.0;
  EXPECT_THROW(profile_from_json(j, "test", StoredRegressors::check), std::runtime_error);
  // A probe faster cold than warm (noise) costs nothing, never a negative.
  EXPECT_DOUBLE_EQ((ColdStart{"probe", 0.3, 0.2, 5}.excess_ms()), 0.0);
}

TEST(Profile, OverheadIsTheMedianRatioOverTheRuns) {
  std::vector<ModelRun> runs;
  for (double f : {0.02, 0.03, 0.5, 0.01, 0.04}) runs.push_back({"m", 10, 100 * (1 + f), 100});
  const RunOverhead ov = fit_overhead(runs);
  EXPECT_NEAR(ov.fraction, 0.03, 1e-9);  // the median: one noisy model does not move it
  EXPECT_DOUBLE_EQ(ov.ms(0, 0.0), 0.0);
  EXPECT_NEAR(ov.ms(3, 10.0), 0.3, 1e-9);
  EXPECT_DOUBLE_EQ(fit_overhead({}).fraction, 0.0);
  EXPECT_DOUBLE_EQ(ov.cold_ms, 0.0);  // refit sets it from the probe
}

}  // namespace
}  // namespace tandem::predictor
