// bench_import: the TorchScript importer's figures (issue 11), measured on
// files bench/import.sh exports.
//
//   import     seconds to import each file (load, freeze, interpret, build)
//   executor   tandem's executor (Model::run) against Module::forward on the
//              same imported model, one intra-op thread, interleaved, medians
//   plan       the planner's min cut on each imported graph (microseconds)
//   predict    whole-model latency predicted from device profiles that never
//              timed the model, against the latency measured on this machine
//              with the profile's threads and slowdown

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <cxxopts.hpp>
#include <fmt/format.h>
#include <torch/csrc/jit/serialization/import.h>

#include "app/cli.hpp"
#include "app/endpoint.hpp"
#include "models/catalog.hpp"
#include "models/torchscript.hpp"
#include "partition/optimise.hpp"
#include "planner/compute_monitor.hpp"
#include "planner/planner.hpp"
#include "predictor/predictor.hpp"

namespace {

using namespace tandem;
using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point t0) { return std::chrono::duration<double, std::milli>(Clock::now() - t0).count(); }

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

struct Spec {
  std::string file;
  std::vector<Shape> inputs;
};

// FILE:SHAPES items separated by ';' ("a.pt:1x3x224x224;b.pt:1x3x32x32,1x10").
std::vector<Spec> parse_specs(const std::string& dir, const std::string& text) {
  std::vector<Spec> out;
  std::string_view rest = text;
  while (!rest.empty()) {
    const auto semi = rest.find(';');
    const std::string_view item = rest.substr(0, semi);
    rest = semi == std::string_view::npos ? std::string_view{} : rest.substr(semi + 1);
    const auto colon = item.rfind(':');
    if (colon == std::string_view::npos) throw app::UsageError(fmt::format("--models: '{}' is not FILE:SHAPES", item));
    out.push_back({(std::filesystem::path(dir) / std::string(item.substr(0, colon))).string(),
                   parse_input_shapes(item.substr(colon + 1))});
  }
  return out;
}

double rel_diff(const at::Tensor& got, const at::Tensor& want) {
  return (got.to(at::kFloat) - want.to(at::kFloat)).abs().max().item<double>() /
         std::max(want.to(at::kFloat).abs().max().item<double>(), 1e-12);
}

// Every model of a model directory: import, Module::forward, splits.
int check_directory(const std::filesystem::path& dir) {
  at::set_num_threads(2);
  const ModelCatalog catalog(dir);
  fmt::print("| model | input | nodes | generic (operators) | import s | vs Module::forward | worst split | result |\n");
  fmt::print("|---|---|---:|---|---:|---:|---:|---|\n");
  int failed = 0;
  for (const ImportedSpec& spec : catalog.imported()) {
    std::string result = "ok";
    try {
      ImportReport report;
      const auto model = import_torchscript(spec.file, {.name = spec.name, .inputs = spec.inputs}, &report);
      const GraphDesc& g = model->graph();
      std::map<std::string, int> generic;
      for (const Node& n : g.nodes()) {
        if (n.kind == OpKind::generic) ++generic[n.attrs.op];
      }
      const auto inputs = model->make_inputs(3);
      torch::jit::Module module = torch::jit::load(spec.file.string());
      module.eval();
      const at::Tensor want = module.forward(std::vector<c10::IValue>(inputs.begin(), inputs.end())).toTensor();
      const TensorMap whole = model->run(inputs);
      const double forward_diff = rel_diff(whole.begin()->second, want);
      std::vector<Cut> cuts = articulation_cuts(g);
      if (cuts.size() > 5) cuts = {cuts[1], cuts[cuts.size() / 2], cuts[cuts.size() - 2]};
      std::mt19937_64 rng(7);
      for (int i = 0; i < 3; ++i) cuts.push_back(random_closed_cut(g, rng));
      double split_diff = 0;
      for (const Cut& cut : cuts) {
        const TensorMap edge = model->run_edge(cut, inputs);
        TensorMap out = model->run_cloud(cut, edge);
        for (NodeId s : g.sinks()) {
          if (cut.on_edge(s)) out.emplace(s, edge.at(s));
        }
        split_diff = std::max(split_diff, rel_diff(out.at(whole.begin()->first), whole.begin()->second));
      }
      if (forward_diff > 1e-4 || split_diff > 1e-4) {
        result = "MISMATCH";
        ++failed;
      }
      std::string ops;
      for (const auto& [op, n] : generic) ops += fmt::format("{}{} ×{}", ops.empty() ? "" : ", ", op, n);
      fmt::print("| {} | {} | {} | {} | {:.2f} | {:.1e} | {:.1e} | {} |\n", spec.name, input_shapes_string(spec.inputs),
                 g.size(), ops.empty() ? "0" : ops, report.seconds, forward_diff, split_diff, result);
    } catch (const std::exception& e) {
      ++failed;
      std::string why = e.what();
      std::replace(why.begin(), why.end(), '\n', ' ');
      fmt::print("| {} | {} | - | - | - | - | - | FAILED: {} |\n", spec.name, input_shapes_string(spec.inputs),
                 why.substr(0, 300));
    }
    std::fflush(stdout);
  }
  fmt::print("\n{} of {} models import, equal Module::forward and split exactly (1e-4 relative)\n",
             catalog.imported().size() - static_cast<std::size_t>(failed), catalog.imported().size());
  return failed == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  cxxopts::Options options("bench_import", "The TorchScript importer's figures (run through bench/import.sh).");
  options.add_options()("dir", "directory of the exported files", cxxopts::value<std::string>(), "DIR")(
      "models", "FILE:SHAPES;... to import", cxxopts::value<std::string>(), "LIST")(
      "runs", "timed runs per model and side (medians)", cxxopts::value<int>()->default_value("15"), "N")(
      "profiles", "directory with edge.json and cloud.json", cxxopts::value<std::string>()->default_value("profiles"),
      "DIR")("predict-runs", "timed runs per model for the prediction check",
             cxxopts::value<int>()->default_value("9"), "N")(
      "anchors", "zoo models run between the prediction check's timed runs to calibrate for the machine's speed "
      "now (planner::ComputeMonitor)", cxxopts::value<std::string>()->default_value("resnet18,googlenet"), "LIST")(
      "summary-exclude", "models left out of the prediction summary",
      cxxopts::value<std::string>()->default_value("chain1000"), "LIST")(
      "check-dir", "instead: import every model of this model directory, compare it with Module::forward and "
      "split it at articulation and random cuts", cxxopts::value<std::string>(), "DIR");
  return app::run_main("bench_import", [&] {
    const auto parsed = app::parse_args(options, argc, argv);
    if (!parsed) return 0;
    const auto& args = *parsed;
    if (args.count("check-dir")) return check_directory(args["check-dir"].as<std::string>());
    const auto specs = parse_specs(app::required(args, "dir"), app::required(args, "models"));
    const int runs = args["runs"].as<int>();
    const std::filesystem::path profiles = args["profiles"].as<std::string>();

    fmt::print("## import and executor (1 intra-op thread; medians of {} interleaved runs)\n\n", runs);
    fmt::print("| model | nodes | generic | import s | tandem ms | Module::forward ms | tandem / forward | min cut us |\n");
    fmt::print("|---|---:|---:|---:|---:|---:|---:|---:|\n");
    at::set_num_threads(1);
    auto planner = planner::Planner::from_profiles(profiles / "edge.json", profiles / "cloud.json");
    std::vector<std::shared_ptr<const Model>> models;
    for (const Spec& spec : specs) {
      ImportReport report;
      const auto model = import_torchscript(spec.file, {.name = "", .inputs = spec.inputs}, &report);
      models.push_back(model);
      const GraphDesc& g = model->graph();
      const auto generic = std::count_if(g.nodes().begin(), g.nodes().end(),
                                         [](const Node& n) { return n.kind == OpKind::generic; });
      torch::jit::Module module = torch::jit::load(spec.file);
      module.eval();
      const auto inputs = model->make_inputs(1);
      const std::vector<c10::IValue> ivalues(inputs.begin(), inputs.end());
      for (int i = 0; i < 3; ++i) {
        model->run(inputs);
        module.forward(ivalues);
      }
      std::vector<double> ours, theirs;
      for (int i = 0; i < runs; ++i) {
        auto t0 = Clock::now();
        model->run(inputs);
        ours.push_back(ms_since(t0));
        t0 = Clock::now();
        module.forward(ivalues);
        theirs.push_back(ms_since(t0));
      }
      planner->add_model(g);
      const planner::Conditions c{.link = {5.85e6 / 8, 5.85e6 / 8, 40}};
      std::vector<double> plan_us;
      for (int i = 0; i < 21; ++i) {
        const auto t0 = Clock::now();
        const auto plan = partition::optimise(g, planner->cost_model(g.name(), c), partition::Objective::latency);
        plan_us.push_back(ms_since(t0) * 1e3);
      }
      fmt::print("| {} | {} | {} | {:.2f} | {:.2f} | {:.2f} | {:.3f} | {:.0f} |\n", g.name(), g.size(), generic,
                 report.seconds, median(ours), median(theirs), median(ours) / median(theirs), median(plan_us));
      std::fflush(stdout);
    }

    // Prediction without profiling: each profile's device (threads, slowdown)
    // runs the model; the profile has never seen it. This VM's speed moves by
    // 20-40% within minutes (README, "Profiling and prediction"), so each
    // timed run of the model is followed by one run of each anchor (zoo
    // models the profile timed), and planner::ComputeMonitor, the daemons'
    // own calibration, turns the anchors' measured / predicted into a scale:
    // the calibrated column is what a daemon that had just run the anchors
    // would predict for a model it never saw.
    const auto anchor_names = app::split_list(args["anchors"].as<std::string>());
    std::vector<std::shared_ptr<const Model>> anchors;
    const ModelCatalog zoo;
    for (const auto& name : anchor_names) anchors.push_back(zoo.load(name));
    fmt::print("\n## whole-model latency predicted from the profiles vs measured ({} runs, medians; "
               "calibrated on the anchors {} run between them)\n\n",
               args["predict-runs"].as<int>(), fmt::join(anchor_names, ", "));
    fmt::print("| model | device | in the profile's table | predicted ms | measured ms | error | anchor scale | "
               "calibrated error |\n|---|---|---:|---:|---:|---:|---:|---:|\n");
    const auto excluded = app::split_list(args["summary-exclude"].as<std::string>());
    std::map<std::string, std::vector<double>> raw_errors, calibrated_errors;  // by device, in %
    for (const char* device : {"edge", "cloud"}) {
      const predictor::Predictor predictor(planner::load_profile_for_planning(profiles / (std::string(device) + ".json")));
      const auto& p = predictor.profile();
      at::set_num_threads(p.threads);
      const RunOptions run{.slowdown = p.slowdown};
      const bool cloud = std::string_view(device) == "cloud";
      std::vector<std::vector<at::Tensor>> anchor_inputs;
      std::vector<double> anchor_predicted;
      for (const auto& a : anchors) {
        anchor_inputs.push_back(a->make_inputs(2));
        anchor_predicted.push_back(predictor.whole_ms(a->graph()));
        for (int i = 0; i < 2; ++i) a->run(anchor_inputs.back(), run);
      }
      for (const auto& model : models) {
        const GraphDesc& g = model->graph();
        int known = 0;
        for (const Node& n : g.nodes()) known += n.kind != OpKind::input && predictor.in_table(g, n.id);
        const auto inputs = model->make_inputs(2);
        for (int i = 0; i < 2; ++i) model->run(inputs, run);
        planner::ComputeMonitor monitor;
        std::vector<double> ms;
        for (int i = 0; i < args["predict-runs"].as<int>(); ++i) {
          auto t0 = Clock::now();
          model->run(inputs, run);
          ms.push_back(ms_since(t0));
          for (std::size_t a = 0; a < anchors.size(); ++a) {
            t0 = Clock::now();
            anchors[a]->run(anchor_inputs[a], run);
            if (cloud) {
              monitor.add_cloud(anchor_predicted[a], ms_since(t0));
            } else {
              monitor.add_edge(anchor_predicted[a], ms_since(t0));
            }
          }
        }
        const double predicted = predictor.whole_ms(g);
        const double measured = median(ms);
        const double scale = cloud ? monitor.cloud_scale() : monitor.edge_scale();
        fmt::print("| {} | {} ({} thr, slowdown {:g}) | {} of {} | {:.2f} | {:.2f} | {:+.1f}% | {:.3f} | {:+.1f}% |\n",
                   g.name(), device, p.threads, p.slowdown, known, g.size() - g.input_count(), predicted, measured,
                   100 * (predicted - measured) / measured, scale, 100 * (predicted * scale - measured) / measured);
        std::fflush(stdout);
        if (std::find(excluded.begin(), excluded.end(), g.name()) == excluded.end()) {
          raw_errors[device].push_back(100 * (predicted - measured) / measured);
          calibrated_errors[device].push_back(100 * (predicted * scale - measured) / measured);
        }
      }
    }
    const auto summary = [](const std::vector<double>& errors) {
      std::vector<double> abs;
      for (double e : errors) abs.push_back(std::abs(e));
      const auto within = std::count_if(abs.begin(), abs.end(), [](double e) { return e <= 15; });
      return fmt::format("{} of {} within 15%, median |error| {:.1f}%", within, abs.size(), median(abs));
    };
    fmt::print("\nsummary (without {}):\n", fmt::join(excluded, ", "));
    for (const char* device : {"edge", "cloud"}) {
      fmt::print("  {:5}  raw: {};  calibrated: {}\n", device, summary(raw_errors[device]),
                 summary(calibrated_errors[device]));
    }
    return 0;
  });
}
