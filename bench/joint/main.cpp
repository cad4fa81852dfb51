// bench_joint: joint inference and compressed crossings measured on the
// Fashion-MNIST test set with the trained models (issue 15). Offline, through
// tandem's executor: both models' accuracy, every miner over a threshold
// sweep, every codec at every cut of the big model. Then through the real
// daemons on an emulated link: little-only, big-only and each miner at its
// threshold (chosen on half of the test set, judged on the other half), and
// the big model per codec at two uplinks. bench/joint.sh trains the models when needed, builds and runs it.

#include <chrono>
#include <ctime>
#include <map>

#include <ATen/Parallel.h>
#include <cxxopts.hpp>
#include <fmt/format.h>

#include "app/cli.hpp"
#include "bench/evaluate/candidates.hpp"
#include "bench/evaluate/runner.hpp"
#include "bench/joint/offline.hpp"
#include "bench/joint/online.hpp"
#include "bench/joint/report.hpp"
#include "edge_daemon/miner.hpp"
#include "models/catalog.hpp"

namespace {

using namespace tandem;
using namespace tandem::bench;
namespace fs = std::filesystem;

void say(const std::string& line) { fmt::print("{}\n", line); std::fflush(stdout); }

// Per miner: the largest edge share whose accuracy meets the goal, else the most accurate point.
std::vector<SweepPoint> choose(const std::vector<SweepPoint>& sweep, double floor) {
  std::map<control::MinerKind, SweepPoint> best;
  for (const auto& p : sweep) {
    auto it = best.find(p.miner);
    if (it == best.end()) {
      best.emplace(p.miner, p);
      continue;
    }
    const SweepPoint& b = it->second;
    const bool p_meets = p.accuracy >= floor, b_meets = b.accuracy >= floor;
    if ((p_meets && !b_meets) || (p_meets && b_meets && p.edge_share > b.edge_share) ||
        (!p_meets && !b_meets && p.accuracy > b.accuracy)) {
      it->second = p;
    }
  }
  std::vector<SweepPoint> out;
  for (const auto& [k, p] : best) out.push_back(p);
  return out;
}

// The split with the largest crossing tensor (not cloud-only): where a codec matters most.
std::size_t widest_split(const std::vector<CodecCut>& codecs) {
  std::size_t split = 0;
  double bytes = -1;
  for (const auto& c : codecs) {
    if (c.codec == partition::Codec::fp32 && c.split > 0 && c.raw_bytes > bytes) {
      bytes = c.raw_bytes;
      split = c.split;
    }
  }
  return split;
}

}  // namespace

int main(int argc, char** argv) {
  cxxopts::Options options("bench_joint",
                           "Joint inference and compressed crossings on Fashion-MNIST (issue 15); usually run\n"
                           "through bench/joint.sh.");
  options.add_options()
      ("model-dir", "model directory with the little and big models (bench/joint/train_fashion_mnist.py)", cxxopts::value<std::string>(), "DIR")
      ("little", "the edge's model", cxxopts::value<std::string>()->default_value("fmnist_little"), "NAME")
      ("big", "the cloud's model", cxxopts::value<std::string>()->default_value("fmnist_big"), "NAME")
      ("dataset-dir", "Fashion-MNIST's IDX files", cxxopts::value<std::string>()->default_value(app::k_fashion_mnist_dir.string()), "DIR")
      ("samples", "test images for the accuracy and joint runs", cxxopts::value<std::size_t>()->default_value("10000"), "N")
      ("codec-samples", "test images per codec and cut", cxxopts::value<std::size_t>()->default_value("1000"), "N")
      ("latency-samples", "test images per codec end-to-end run", cxxopts::value<std::size_t>()->default_value("100"), "N")
      ("joint-link", "the uplink of the joint runs", cxxopts::value<std::string>()->default_value("5.85mbit,rtt=40ms"), "LINK")
      ("codec-links", "uplinks of the codec runs, ';'-separated", cxxopts::value<std::string>()->default_value("1.1mbit,rtt=40ms;5.85mbit,rtt=40ms"), "LIST")
      ("offline-only", "skip the daemon runs")
      ("threads", "LibTorch threads for the offline half", cxxopts::value<int>()->default_value("1"), "N")
      ("bin-dir", "directory with edge_daemon and cloud_daemon", cxxopts::value<std::string>(), "DIR")
      ("profiles", "directory with the device profiles", cxxopts::value<std::string>()->default_value("profiles"), "DIR")
      ("edge-threads", "edge_daemon --threads", cxxopts::value<int>()->default_value("1"), "N")
      ("slowdown", "edge_daemon --slowdown", cxxopts::value<double>()->default_value("4"), "F")
      ("cloud-threads", "cloud_daemon --threads", cxxopts::value<int>()->default_value("1"), "N")
      ("out", "results directory", cxxopts::value<std::string>()->default_value("bench/results/joint"), "DIR")
      ("work-dir", "key file and daemon logs", cxxopts::value<std::string>()->default_value("/tmp/tandem-joint"), "DIR")
      ("commit", "commit recorded in the report", cxxopts::value<std::string>()->default_value("unknown"), "TEXT")
      ("command", "the command recorded in the report", cxxopts::value<std::string>()->default_value("bench/joint.sh"), "TEXT");
  return app::run_main("bench_joint", [&] {
    const auto parsed = app::parse_args(options, argc, argv);
    if (!parsed) return 0;
    const cxxopts::ParseResult& args = *parsed;
    const fs::path model_dir = app::required(args, "model-dir", "(train the models with bench/joint/train_fashion_mnist.py)");
    at::set_num_threads(args["threads"].as<int>());
    const auto started = std::chrono::steady_clock::now();
    JointResults r;
    r.little_model = args["little"].as<std::string>();
    r.big_model = args["big"].as<std::string>();
    r.command = args["command"].as<std::string>();

    const app::LabelledImages data =
        app::load_dataset(app::parse_dataset("fashion-mnist:test"), args["dataset-dir"].as<std::string>());
    const ModelCatalog catalog(model_dir);
    const auto little = catalog.load(r.little_model);
    const auto big = catalog.load(r.big_model);
    const std::size_t samples = std::min(args["samples"].as<std::size_t>(), data.count());
    say(fmt::format("running {} and {} on {} test images", r.little_model, r.big_model, samples));
    const Logits logits = compute_logits(*little, *big, data, samples);
    r.little_accuracy = evaluate_miner(logits, control::MinerKind::confidence, 0.0, 0).accuracy;  // never hard
    r.big_accuracy = big_only_accuracy(logits);
    say(fmt::format("accuracy: {} {:.2f}%, {} {:.2f}%", r.little_model, r.little_accuracy, r.big_model, r.big_accuracy));
    r.sweep = sweep_thresholds(logits);
    // Thresholds are chosen on one half of the test set and judged on the
    // other: choosing and reporting on the same images would flatter them.
    const Logits calibration = every_other(logits, 0), held_out = every_other(logits, 1);
    r.calibration = choose(sweep_thresholds(calibration), big_only_accuracy(calibration) - r.goal_accuracy_gap);
    r.big_accuracy_held_out = big_only_accuracy(held_out);
    for (const SweepPoint& c : r.calibration) {
      const edge::MinerConfig m = miner_config(c);
      r.held_out.push_back(evaluate_miner(held_out, m.kind, m.threshold, m.box_threshold));
      r.chosen.push_back(evaluate_miner(logits, m.kind, m.threshold, m.box_threshold));
      const SweepPoint& h = r.held_out.back();
      say(fmt::format("  {} {:g} (chosen on {} images): {:.2f}% at {:.1f}% on the edge on the other {}",
                      control::to_string(c.miner), c.threshold, calibration.count(), h.accuracy, h.edge_share,
                      held_out.count()));
    }

    const std::size_t codec_samples = std::min(args["codec-samples"].as<std::size_t>(), samples);
    say(fmt::format("codecs at every cut of {} on {} images", r.big_model, codec_samples));
    r.codecs = codec_table(*big, data, logits, codec_samples);
    r.prices = measured_prices(r.codecs);

    const auto write = [&] {
      const double minutes = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count() / 60;
      const std::time_t now = std::time(nullptr);
      char date[32];
      std::strftime(date, sizeof date, "%Y-%m-%d %H:%M", std::localtime(&now));
      r.settings = fmt::format(
          "- machine: {} (shared with other builds: timings are noisy)\n- date: {}; commit {}; {:.1f} min\n"
          "- models: `{}` ({} and {}); test images: {} (codecs: {} per cut)\n"
          "- daemons: edge `--threads {} --slowdown {:g}`, cloud `--threads {}`, the edge's `--emulate-link`\n",
          host_description(), date, args["commit"].as<std::string>(), minutes, model_dir.string(), r.little_model,
          r.big_model, samples, codec_samples, args["edge-threads"].as<int>(), args["slowdown"].as<double>(),
          args["cloud-threads"].as<int>());
      write_joint_results(args["out"].as<std::string>(), r);
    };
    write();
    if (args.count("offline-only")) return 0;

    RunnerConfig rc;
    rc.bin_dir = args.count("bin-dir") ? fs::path(args["bin-dir"].as<std::string>()) : fs::path(argv[0]).parent_path();
    rc.profiles_dir = args["profiles"].as<std::string>();
    rc.work_dir = args["work-dir"].as<std::string>();
    rc.models = {r.little_model, r.big_model};
    rc.model_dir = fs::absolute(model_dir);
    rc.edge_threads = args["edge-threads"].as<int>();
    rc.edge_slowdown = args["slowdown"].as<double>();
    rc.cloud_threads = args["cloud-threads"].as<int>();
    rc.probe_interval = "500ms";
    Runner runner(rc);
    const auto progress = [](const std::string& line) { say(line); };

    const LinkCase joint_link = parse_links(args["joint-link"].as<std::string>()).front();
    say(fmt::format("joint runs on {}", joint_link.spec()));
    runner.use_link(joint_link);
    control::TaskSpec base;
    base.model = r.little_model;
    base.plan = control::parse_plan_choice("edge_only");
    r.joint_runs.push_back(run_images(runner, "little only", joint_link.spec(), base, data, samples, progress));
    write();
    base.model = r.big_model;
    for (const char* plan : {"cloud_only", "auto"}) {
      base.plan = control::parse_plan_choice(plan);
      r.joint_runs.push_back(run_images(runner, fmt::format("big only, {}", plan), joint_link.spec(), base, data, samples, progress));
      write();
    }
    for (const auto& c : r.chosen) {
      control::TaskSpec t;
      t.model = r.big_model;
      t.mode = control::TaskMode::joint;
      t.little = r.little_model;
      t.miner = c.miner;
      t.plan = control::parse_plan_choice("cloud_only");
      const edge::MinerConfig m = miner_config(c);
      t.threshold = m.threshold;
      if (m.kind == control::MinerKind::ibt) t.box_threshold = m.box_threshold;
      r.joint_runs.push_back(run_images(runner, fmt::format("joint {} {:g}", control::to_string(c.miner), c.threshold),
                                        joint_link.spec(), t, data, samples, progress));
      write();
    }

    const std::size_t widest = widest_split(r.codecs);
    const std::size_t latency_samples = std::min(args["latency-samples"].as<std::size_t>(), samples);
    for (const LinkCase& link : parse_links(args["codec-links"].as<std::string>())) {
      say(fmt::format("codec runs on {}", link.spec()));
      runner.use_link(link);
      for (const std::string& plan : {std::string("auto"), fmt::format("split:{}", widest)}) {
        double fp32_p50 = 0;
        for (partition::Codec codec : partition::k_codecs) {
          control::TaskSpec t;
          t.model = r.big_model;
          t.plan = control::parse_plan_choice(plan);
          t.codec = control::CodecChoice{false, codec};
          OnlineRun run = run_images(runner, fmt::format("{} {}", plan, partition::to_string(codec)), link.spec(), t,
                                     data, latency_samples, progress);
          if (codec == partition::Codec::fp32) fp32_p50 = run.p50_ms;
          run.name += fmt::format(" ({:+.1f} ms vs fp32)", run.p50_ms - fp32_p50);
          r.codec_runs.push_back(std::move(run));
        }
        write();
      }
    }
    say("done: " + args["out"].as<std::string>() + "/report.md");
    return 0;
  });
}
