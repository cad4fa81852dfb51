#include "cli/submit_tasks.hpp"

#include <algorithm>
#include <filesystem>

#include <fmt/format.h>

#include "app/cli.hpp"
#include "app/dataset.hpp"

namespace tandem::cli {

using control::TaskResult;
using control::TaskSpec;

void add_task_options(cxxopts::Options& options) {
  options.add_options()
      ("accuracy-budget", "percent of samples whose top-1 a lossy codec may change (the edge's --codec-accuracy measurements; default: none for an explicit codec, lossless only for auto)", cxxopts::value<double>(), "PCT")
      ("privacy-floor", "nothing before this leaves the edge: none, layers:N or node:NAME", cxxopts::value<std::string>()->default_value("none"), "FLOOR")
      ("dataset", "send the images of a labelled data set, one task each: fashion-mnist[:test|:train]", cxxopts::value<std::string>(), "NAME")
      ("dataset-dir", "where the data set's files are (default: /usr/share/datasets/fashion-mnist)", cxxopts::value<std::string>(), "DIR")
      ("limit", "--dataset: only the first N images (default: all)", cxxopts::value<std::size_t>(), "N")
      ("mode", "single, or joint (a little model on the edge, the hard samples to --models)", cxxopts::value<std::string>()->default_value("single"), "M")
      ("little", "--mode joint: the edge's little model", cxxopts::value<std::string>(), "MODEL")
      ("miner", "--mode joint: confidence, entropy or ibt", cxxopts::value<std::string>()->default_value("confidence"), "K")
      ("threshold", "--mode joint: the miner's threshold (default: confidence 0.9, entropy 0.25, ibt 0.9)", cxxopts::value<double>(), "T")
      ("box-threshold", "--mode joint, ibt: the per-class box threshold (default 0.8)", cxxopts::value<double>(), "T");
}

void apply_task_options(const cxxopts::ParseResult& args, TaskSpec& base) {
  const auto field = [&](const char* flag, auto parse) {
    try {
      return parse(args[flag].as<std::string>());
    } catch (const std::exception& e) {
      throw app::UsageError(fmt::format("--{}: {}", flag, e.what()));
    }
  };
  base.privacy_floor = field("privacy-floor", [](const std::string& t) { return partition::parse_privacy_floor(t); });
  if (args.count("accuracy-budget")) base.accuracy_budget = args["accuracy-budget"].as<double>();
  base.mode = field("mode", [](const std::string& t) { return nlohmann::json(t).get<control::TaskMode>(); });
  if (base.mode == control::TaskMode::joint) {
    base.little = app::required(args, "little", "(the edge's model, with --mode joint)");
    base.miner = field("miner", [](const std::string& t) { return nlohmann::json(t).get<control::MinerKind>(); });
    if (args.count("threshold")) base.threshold = args["threshold"].as<double>();
    if (args.count("box-threshold")) base.box_threshold = args["box-threshold"].as<double>();
  } else if (args.count("little") || args.count("threshold") || args.count("box-threshold")) {
    throw app::UsageError("--little, --threshold and --box-threshold need --mode joint");
  }
  // The daemon checks the same rules; checking here first names the flags' values.
  TaskSpec probe = base;
  probe.model = "probe";
  try {
    control::parse_request(control::to_line(probe));
  } catch (const control::ProtocolError& e) {
    throw app::UsageError(e.what());
  }
}

LabelledTasks dataset_tasks(const cxxopts::ParseResult& args, const TaskSpec& base,
                            const std::vector<std::string>& models) {
  if (models.size() != 1) throw app::UsageError("--dataset runs one model: give --models one name");
  if (args.count("count") || args.count("shuffle")) throw app::UsageError("--dataset sends every image (use --limit)");
  app::DatasetRef ref;
  try {
    ref = app::parse_dataset(args["dataset"].as<std::string>());
  } catch (const std::invalid_argument& e) {
    throw app::UsageError(fmt::format("--dataset: {}", e.what()));
  }
  const std::filesystem::path dir =
      args.count("dataset-dir") ? std::filesystem::path(args["dataset-dir"].as<std::string>()) : app::k_fashion_mnist_dir;
  const app::LabelledImages data = app::load_dataset(ref, dir);
  const std::size_t limit = args.count("limit") ? args["limit"].as<std::size_t>() : data.count();
  if (limit == 0) throw app::UsageError("--limit must be at least 1");
  const std::size_t n = std::min(limit, data.count());
  LabelledTasks out;
  out.tasks.reserve(n);
  out.labels.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    TaskSpec t = base;
    t.task = i;
    t.model = models.front();
    control::InlineTensor input;
    input.shape = {1, 1, static_cast<std::int64_t>(data.rows), static_cast<std::int64_t>(data.cols)};
    input.values.assign(data.image(i), data.image(i) + data.rows * data.cols);
    t.input = std::move(input);
    out.tasks.push_back(std::move(t));
    out.labels.push_back(data.labels[i]);
  }
  return out;
}

void AccuracyTally::add(const TaskResult& r) {
  if (!r.ok) return;
  const int label = r.task < labels_.size() ? labels_[r.task] : -1;
  for (Counts* c : {&per_model_[r.model], &all_}) {
    c->sent_bytes += static_cast<double>(r.crossing_bytes);
    if (label >= 0) {
      ++c->labelled;
      c->correct += r.top1 == label;
    }
    if (r.joint) {
      ++c->joint;
      c->little += r.joint->answered_by == "little";
    }
  }
}

void AccuracyTally::print() const {
  const auto pct = [](std::size_t part, std::size_t whole) {
    return 100.0 * static_cast<double>(part) / static_cast<double>(whole);
  };
  for (const auto& [name, c] : per_model_) {
    if (c.labelled) fmt::print("accuracy {:<14} {:.2f}% ({} of {})\n", name, pct(c.correct, c.labelled), c.correct, c.labelled);
  }
  if (all_.labelled) {
    fmt::print("accuracy {:<14} {:.2f}% ({} of {} labelled results)\n", "all", pct(all_.correct, all_.labelled),
               all_.correct, all_.labelled);
  }
  if (all_.joint) {
    fmt::print("joint: {:.1f}% answered on the edge by the little model ({} of {}), the rest by the big model; "
               "{:.1f} KB sent in all\n",
               pct(all_.little, all_.joint), all_.little, all_.joint, all_.sent_bytes / 1e3);
  }
}

bool InFlightWindow::wait_to_send(std::size_t i) {
  std::unique_lock lock(mutex_);
  if (limit_ > 0) moved_.wait(lock, [&] { return closed_ || i - answered_ < limit_; });
  return !closed_;
}

void InFlightWindow::answered() {
  {
    std::lock_guard lock(mutex_);
    ++answered_;
  }
  moved_.notify_all();
}

void InFlightWindow::close() {
  {
    std::lock_guard lock(mutex_);
    closed_ = true;
  }
  moved_.notify_all();
}

}  // namespace tandem::cli
