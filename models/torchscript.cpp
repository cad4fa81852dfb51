// TorchScript import (models/torchscript.hpp; docs/design.md §11).

#include "models/torchscript.hpp"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <set>
#include <sstream>

#include <ATen/ATen.h>
#include <fmt/format.h>
#include <torch/csrc/jit/api/module.h>
#include <torch/csrc/jit/ir/ir.h>
#include <torch/csrc/jit/passes/dead_code_elimination.h>
#include <torch/csrc/jit/passes/freeze_module.h>
#include <torch/csrc/jit/passes/inliner.h>
#include <torch/csrc/jit/passes/remove_mutation.h>
#include <torch/csrc/jit/serialization/import.h>

#include "models/torchscript_importer.hpp"

namespace tandem {
namespace ts_import {

void Importer::bind_inputs() {
  const auto& inputs = imported_->graph->inputs();
  std::vector<const jit::Value*> tensors;
  for (std::size_t i = 1; i < inputs.size(); ++i) {  // input 0 is the module itself
    const jit::Value* v = inputs[i];
    if (!is_tensor_type(v->type())) {
      problems_.push_back(fmt::format("forward() argument '{}' is a {}, not a tensor: only tensor inputs can be imported",
                                      v->debugName(), v->type()->repr_str()));
      continue;
    }
    tensors.push_back(v);
  }
  if (tensors.size() != shapes_.size()) {
    throw ImportError(fmt::format("forward() takes {} tensor input(s); --input gives {} shape(s) ({})", tensors.size(),
                                  shapes_.size(), input_shapes_string(shapes_)));
  }
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(0);
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    Node node;
    node.kind = OpKind::input;
    std::string dn = tensors[i]->debugName();
    if (const auto dot = dn.rfind('.'); dot != std::string::npos) dn.resize(dot);
    node.name = dn.empty() ? fmt::format("input{}", i) : dn;
    node.out_shape = shapes_[i];
    Bound b;
    b.kind = Bound::Kind::tensor;
    b.example = at::rand(shapes_[i], gen, at::kFloat);
    b.node = add_node(std::move(node), nullptr, {});
    set(tensors[i], std::move(b));
  }
}

void Importer::finish_outputs() {
  std::vector<const Bound*> pending;
  for (const jit::Value* v : imported_->graph->outputs()) pending.push_back(&bound(v));
  std::set<NodeId> sinks;
  std::size_t position = 0;
  while (!pending.empty()) {
    const Bound* b = pending.front();
    pending.erase(pending.begin());
    switch (b->kind) {
      case Bound::Kind::tensor:
        if (nodes_[static_cast<std::size_t>(b->node)].kind == OpKind::input) {
          problems_.push_back(fmt::format("output {} is an input passed through unchanged", position));
        } else if (sinks.insert(b->node).second) {
          outputs_.push_back(b->node);
        }
        break;
      case Bound::Kind::list:
      case Bound::Kind::tuple:
        for (auto it = b->items.rbegin(); it != b->items.rend(); ++it) pending.insert(pending.begin(), &*it);
        continue;
      case Bound::Kind::constant: {
        std::ostringstream text;
        text << b->constant;
        std::string s = text.str();
        if (s.size() > 60) s = s.substr(0, 57) + "...";
        report_->constant_outputs.push_back(s);
        break;
      }
      case Bound::Kind::data:
        problems_.push_back(fmt::format("output {} is a value computed from the input data (by {}), not a tensor",
                                        position, b->origin));
        break;
      case Bound::Kind::poisoned:
        break;
    }
    ++position;
  }
  if (outputs_.empty() && problems_.empty()) problems_.push_back("the model has no output computed from its inputs");
}

std::shared_ptr<const Model> Importer::build() {
  // Keep what the outputs need; anything else was only read for its shape.
  // An output that another node also reads gets a node of its own, so that
  // every output is a sink of the graph.
  std::vector<bool> read(nodes_.size(), false);
  for (const Node& n : nodes_) {
    for (NodeId p : n.inputs) read[static_cast<std::size_t>(p)] = true;
  }
  for (NodeId& o : outputs_) {
    if (!read[static_cast<std::size_t>(o)]) continue;
    const Node& source = nodes_[static_cast<std::size_t>(o)];
    Node out;
    out.kind = OpKind::reshape;
    out.name = source.name + ".output";
    out.inputs = {o};
    out.out_shape = source.out_shape;
    out.dtype = source.dtype;
    out.attrs.dims = source.out_shape;
    out.attrs.op = "output";
    o = add_node(std::move(out), nullptr, {});
  }
  std::vector<bool> keep(nodes_.size(), false);
  for (NodeId o : outputs_) keep[static_cast<std::size_t>(o)] = true;
  for (std::size_t i = nodes_.size(); i-- > 0;) {
    if (!keep[i]) continue;
    for (NodeId p : nodes_[i].inputs) keep[static_cast<std::size_t>(p)] = true;
  }
  for (std::size_t i = 0; i < nodes_.size(); ++i) {
    if (nodes_[i].kind == OpKind::input && !keep[i]) {
      throw ImportError(fmt::format("input '{}' is not used by any output", nodes_[i].name));
    }
  }
  std::vector<NodeId> new_id(nodes_.size(), -1);
  std::vector<Node> nodes;
  std::vector<std::shared_ptr<const NodeKernel>> kernels;
  for (std::size_t i = 0; i < nodes_.size(); ++i) {
    if (!keep[i]) continue;
    new_id[i] = static_cast<NodeId>(nodes.size());
    Node n = nodes_[i];
    n.id = new_id[i];
    for (NodeId& p : n.inputs) p = new_id[static_cast<std::size_t>(p)];
    nodes.push_back(std::move(n));
    kernels.push_back(kernels_[i]);
  }
  std::vector<Param> params;
  for (Param& p : params_) {
    if (!keep[static_cast<std::size_t>(p.node)]) continue;
    p.node = new_id[static_cast<std::size_t>(p.node)];
    params.push_back(std::move(p));
  }
  compute_features(nodes);
  GraphDesc graph(name_, std::move(nodes));
  return std::make_shared<const Model>(std::move(graph), std::move(params), std::move(kernels), imported_);
}

std::shared_ptr<const Model> Importer::run(const std::filesystem::path& file, ImportReport& report) {
  report_ = &report;
  try {
    imported_->module = jit::load(file.string());
  } catch (const c10::Error& e) {
    throw std::runtime_error(fmt::format("cannot load {} as TorchScript: {}", file.string(),
                                         std::string(e.what_without_backtrace()).substr(0, 300)));
  }
  jit::Module& module = imported_->module;
  report.was_frozen = module.named_parameters().size() == 0 && module.named_buffers().size() == 0;
  try {
    module.eval();
    // Freezing alone: parameters and attributes become constants; no
    // numerics passes, so the graph keeps the user's layers.
    module = jit::freeze_module(module);
  } catch (const c10::Error& e) {
    throw ImportError(fmt::format("cannot freeze {}: {}", file.string(),
                                  std::string(e.what_without_backtrace()).substr(0, 300)));
  }
  auto graph = module.get_method("forward").graph()->copy();
  jit::Inline(*graph);
  jit::RemoveTensorMutation(graph);
  jit::EliminateDeadCode(graph);
  imported_->graph = graph;

  bind_inputs();
  run_block(graph->block());
  finish_outputs();
  if (!problems_.empty()) {
    std::string text = fmt::format("cannot import {}:", file.string());
    for (const auto& p : problems_) text += "\n  - " + p;
    throw ImportError(text);
  }
  return build();
}

}  // namespace ts_import

std::shared_ptr<const Model> import_torchscript(const std::filesystem::path& file, const ImportOptions& options,
                                                ImportReport* report) {
  const auto start = std::chrono::steady_clock::now();
  if (!std::filesystem::is_regular_file(file)) {
    throw std::runtime_error(fmt::format("{}: no such file", file.string()));
  }
  if (options.inputs.empty()) {
    throw ImportError(fmt::format("{}: give the input shape(s), e.g. --input 1x3x224x224", file.string()));
  }
  ImportReport local;
  ImportReport& r = report ? *report : local;
  ts_import::Importer importer(options.name.empty() ? file.stem().string() : options.name, options.inputs);
  auto model = importer.run(file, r);
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return model;
}

std::vector<Shape> parse_input_shapes(std::string_view text) {
  std::vector<Shape> shapes;
  std::string_view rest = text;
  const auto fail = [&](std::string_view why) {
    return std::invalid_argument(
        fmt::format("input shape '{}': {} (expected e.g. 1x3x224x224, or 1x3x32x32,1x10 for two inputs)", text, why));
  };
  if (text.empty()) throw fail("empty");
  while (true) {
    const auto comma = rest.find(',');
    const std::string_view one = rest.substr(0, comma);
    Shape shape;
    std::string_view dims = one;
    while (true) {
      const auto x = dims.find('x');
      const std::string_view d = dims.substr(0, x);
      std::int64_t value = 0;
      const auto [ptr, ec] = std::from_chars(d.data(), d.data() + d.size(), value);
      if (d.empty() || ec != std::errc() || ptr != d.data() + d.size() || value <= 0 || value > (1 << 24)) {
        throw fail(fmt::format("'{}' is not a dimension from 1 to {}", d, 1 << 24));
      }
      shape.push_back(value);
      if (x == std::string_view::npos) break;
      dims = dims.substr(x + 1);
    }
    if (shape.size() > 8) throw fail("more than 8 dimensions");
    shapes.push_back(std::move(shape));
    if (comma == std::string_view::npos) break;
    rest = rest.substr(comma + 1);
  }
  return shapes;
}

std::string input_shapes_string(const std::vector<Shape>& shapes) {
  std::string out;
  for (const Shape& s : shapes) {
    if (!out.empty()) out += ',';
    out += shape_string(s);
  }
  return out;
}


}  // namespace tandem
