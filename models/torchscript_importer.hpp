// The TorchScript importer's interpreter (docs/design.md §11). Internal to
// models/: torchscript.cpp loads and freezes the module, binds the inputs and
// assembles the Model (Importer::run, bind_inputs, finish_outputs, build);
// torchscript_interpret.cpp walks the graph on the seeded inputs, folds what
// is not tensor data flow and emits one node per tensor operation.
#pragma once

#include <cstddef>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <ATen/ATen.h>
#include <fmt/format.h>
#include <torch/csrc/jit/api/module.h>
#include <torch/csrc/jit/ir/ir.h>

#include "models/model.hpp"
#include "models/torchscript.hpp"
#include "models/torchscript_kernel.hpp"
#include "models/torchscript_ops.hpp"

namespace tandem::ts_import {

namespace jit = torch::jit;

// The user's file and line: the range the saved code was generated from
// when the file kept it, else the saved code's own.
std::string where(const jit::Node* n);
inline std::string op_name(const jit::Node* n) { return n->kind().toQualString(); }
inline bool is_tensor_type(const c10::TypePtr& t) { return t->kind() == c10::TypeKind::TensorType; }
inline bool is_tensor_list_type(const c10::TypePtr& t) {
  const auto list = t->cast<c10::ListType>();
  return list && is_tensor_type(list->getElementType());
}

// Kept alive for as long as the model: the module and the graph whose
// operators the kernels call.
struct Imported {
  jit::Module module;
  std::shared_ptr<jit::Graph> graph;
};

class Importer {
 public:
  Importer(std::string name, std::vector<Shape> shapes) : name_(std::move(name)), shapes_(std::move(shapes)) {}

  std::shared_ptr<const Model> run(const std::filesystem::path& file, ImportReport& report);

 private:
  void bind_inputs();
  void run_block(jit::Block* block);
  void visit(jit::Node* n);
  void visit_if(jit::Node* n);
  void visit_data_valued(jit::Node* n, const Bound& data);
  void visit_loop(jit::Node* n);
  void visit_op(jit::Node* n);
  void fold(jit::Node* n);
  void data_flow(jit::Node* n);
  void finish_outputs();
  std::shared_ptr<const Model> build();

  const Bound& bound(const jit::Value* v) const {
    const auto it = env_.find(v);
    if (it == env_.end()) throw std::logic_error(fmt::format("import: value %{} is unbound", v->debugName()));
    return it->second;
  }
  void set(const jit::Value* v, Bound b) { env_.insert_or_assign(v, std::move(b)); }
  void poison_outputs(jit::Node* n) {
    for (const jit::Value* out : n->outputs()) set(out, Bound{.kind = Bound::Kind::poisoned});
  }
  void problem(jit::Node* n, const std::string& what) {
    problems_.push_back(fmt::format("{} at {}: {}", op_name(n), where(n), what));
    poison_outputs(n);
  }
  IValue example(const Bound& b, const c10::TypePtr& type) const;
  Arg arg_of(const Bound& b, const c10::TypePtr& type, std::vector<NodeId>& inputs) const;
  std::string unique_name(std::string base);
  NodeId add_node(Node node, std::shared_ptr<const NodeKernel> kernel, std::vector<Param> params);
  std::string node_name(jit::Node* n, const jit::Value* out, OpKind kind, const std::string& op) const;

  std::string name_;
  std::vector<Shape> shapes_;
  std::shared_ptr<Imported> imported_ = std::make_shared<Imported>();
  std::unordered_map<const jit::Value*, Bound> env_;
  std::vector<std::string> problems_;
  ImportReport* report_ = nullptr;
  std::size_t unrolled_ = 0;

  std::vector<Node> nodes_;
  std::vector<std::shared_ptr<const NodeKernel>> kernels_;
  std::vector<Param> params_;
  std::unordered_set<std::string> names_;
  std::map<std::string, int> kind_counts_;
  std::vector<NodeId> outputs_;
};

}  // namespace tandem::ts_import
