// bench_executor_worker: tandem's side of bench/executor_vs_python.sh.
//
// Reads one JSON request per line on stdin and answers one JSON line on
// stdout, so that the Python driver can time tandem's executor and LibTorch
// from Python alternately, in one run, on the same weights and input:
//
//   {"op":"load","model":M,"input":"1x3x224x224","dir":D}
//        M is a zoo name or a TorchScript file (then "input" is required).
//        Writes D/input.tensor (the seeded input), D/whole.tensor (the
//        whole run's output) and, for a zoo model, D/weights.tw.
//        Answers {"nodes", "allocator"} (the worker's process_allocator()).
//   {"op":"find_cut","tensor":F}
//        The articulation cut whose one crossing tensor equals the tensor in
//        file F (the output of the driver's head module): {"cut","node"}.
//   {"op":"set_cut","cut":C}      the cut the edge and cloud sides time
//   {"op":"time","side":"whole|edge|cloud","threads":N,"plain":false}
//        One run; {"ms": wall ms of Model::run / run_edge / run_cloud}.
//   {"op":"check","cut":C}  max relative difference of the optimised
//        executor from the plain per-node path, whole and split at C.
//
// Every reply has "ok"; a failed request answers {"ok":false,"error":...}
// and the worker keeps serving.

#include <chrono>
#include <iostream>
#include <string>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "models/catalog.hpp"
#include "models/model.hpp"
#include "models/torchscript.hpp"

namespace {

using namespace tandem;
using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

double rel_diff(const at::Tensor& got, const at::Tensor& want) {
  const double scale = std::max(want.abs().max().item<double>(), 1e-12);
  return (got - want).abs().max().item<double>() / scale;
}

double worst_diff(const TensorMap& got, const TensorMap& want) {
  double worst = 0;
  for (const auto& [id, w] : want) worst = std::max(worst, rel_diff(got.at(id), w));
  return worst;
}

class Worker {
 public:
  json handle(const json& req) {
    const std::string op = req.at("op").get<std::string>();
    if (op == "load") return load(req);
    if (!model_) throw std::runtime_error("no model loaded: send op 'load' first");
    if (op == "find_cut") return find_cut(req);
    if (op == "set_cut") return set_cut(Cut::parse(model_->graph(), req.at("cut").get<std::string>()));
    if (op == "time") return time(req);
    if (op == "check") return check(Cut::parse(model_->graph(), req.at("cut").get<std::string>()));
    throw std::runtime_error(fmt::format("unknown op '{}'", op));
  }

 private:
  json load(const json& req) {
    const std::string name = req.at("model").get<std::string>();
    const std::filesystem::path dir = req.at("dir").get<std::string>();
    std::vector<Shape> shapes;
    if (req.contains("input")) shapes = parse_input_shapes(req.at("input").get<std::string>());
    model_ = ModelCatalog().load_reference(name, shapes);
    input_ = model_->make_inputs(1);
    cut_.reset();
    crossing_.clear();
    save_tensors(dir / "input.tensor", input_);
    const TensorMap out = model_->run(input_, {.plain = true});
    if (out.size() != 1) throw std::runtime_error(fmt::format("{} has {} outputs; the benchmark takes one", name, out.size()));
    save_tensor(dir / "whole.tensor", out.begin()->second);
    if (is_zoo_model(name)) model_->save_weights(dir / "weights.tw");
    return {{"ok", true}, {"nodes", model_->graph().size()}, {"allocator", process_allocator()}};
  }

  json find_cut(const json& req) {
    const at::Tensor head = load_tensor(req.at("tensor").get<std::string>());
    const GraphDesc& g = model_->graph();
    const Shape shape(head.sizes().begin(), head.sizes().end());
    std::vector<Cut> candidates;
    std::vector<NodeId> wanted;
    for (const Cut& c : articulation_cuts(g)) {
      if (c.is_edge_only() || c.is_cloud_only()) continue;
      const auto crossing = c.crossing(g);
      if (crossing.size() == 1 && g.node(crossing[0]).out_shape == shape) {
        candidates.push_back(c);
        wanted.push_back(crossing[0]);
      }
    }
    std::vector<bool> compute(g.size(), true);
    TensorMap available;
    for (std::size_t i = 0; i < input_.size(); ++i) {
      compute[i] = false;
      available.emplace(static_cast<NodeId>(i), input_[i]);
    }
    const TensorMap values = model_->run_nodes(compute, available, wanted, {.plain = true});
    for (std::size_t i = 0; i < candidates.size(); ++i) {
      if (rel_diff(values.at(wanted[i]), head) <= 1e-4) {
        return {{"ok", true}, {"cut", candidates[i].to_string()}, {"node", g.node(wanted[i]).name}};
      }
    }
    throw std::runtime_error(fmt::format("no articulation cut of {} hands over a tensor equal to the head's {}",
                                         model_->name(), shape_string(shape)));
  }

  json set_cut(const Cut& cut) {
    cut.check(model_->graph());
    cut_ = cut;
    crossing_ = model_->run_edge(cut, input_);
    return {{"ok", true}, {"edge_nodes", cut.computed_on_edge()}, {"crossing_bytes", cut.crossing_bytes(model_->graph())}};
  }

  json time(const json& req) {
    const std::string side = req.at("side").get<std::string>();
    const int threads = req.at("threads").get<int>();
    if (threads < 1) throw std::runtime_error("threads must be at least 1");
    if (at::get_num_threads() != threads) at::set_num_threads(threads);
    const RunOptions options{.plain = req.value("plain", false)};
    if (side != "whole" && !cut_) throw std::runtime_error("no cut set: send op 'set_cut' first");
    const auto t0 = Clock::now();
    if (side == "whole") {
      model_->run(input_, options);
    } else if (side == "edge") {
      model_->run_edge(*cut_, input_, options);
    } else if (side == "cloud") {
      model_->run_cloud(*cut_, crossing_, options);
    } else {
      throw std::runtime_error(fmt::format("unknown side '{}' (whole, edge, cloud)", side));
    }
    return {{"ok", true}, {"ms", std::chrono::duration<double, std::milli>(Clock::now() - t0).count()}};
  }

  json check(const Cut& cut) {
    const TensorMap plain = model_->run(input_, {.plain = true});
    const TensorMap fast = model_->run(input_);
    const TensorMap edge = model_->run_edge(cut, input_);
    TensorMap split = model_->run_cloud(cut, edge);
    for (NodeId s : model_->graph().sinks()) {
      if (cut.on_edge(s)) split.emplace(s, edge.at(s));
    }
    return {{"ok", true}, {"whole", worst_diff(fast, plain)}, {"split", worst_diff(split, plain)}};
  }

  std::shared_ptr<const Model> model_;
  std::vector<at::Tensor> input_;
  std::optional<Cut> cut_;
  TensorMap crossing_;
};

}  // namespace

int main() {
  Worker worker;
  std::string line;
  while (std::getline(std::cin, line)) {
    if (line.empty()) continue;
    json reply;
    try {
      reply = worker.handle(json::parse(line));
    } catch (const std::exception& e) {
      std::string what = e.what();
      if (auto nl = what.find('\n'); nl != std::string::npos) what.resize(nl);
      reply = {{"ok", false}, {"error", what}};
    }
    std::cout << reply.dump() << std::endl;
  }
  return 0;
}
