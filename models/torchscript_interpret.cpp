// The TorchScript importer's walk over the graph (models/torchscript_importer.hpp;
// docs/design.md §11): constants, lists, tuples, branches and loops whose
// conditions are known and metadata reads are folded under the declared
// shapes; every tensor operation left becomes a node.

#include <algorithm>
#include <optional>
#include <string>
#include <unordered_set>
#include <utility>
#include <vector>

#include <ATen/ATen.h>
#include <fmt/format.h>
#include <torch/csrc/jit/ir/constants.h>
#include <torch/csrc/jit/ir/ir.h>

#include "models/torchscript_importer.hpp"
#include "models/torchscript_kernel.hpp"
#include "models/torchscript_ops.hpp"

namespace tandem::ts_import {
namespace {

using c10::IValue;

// Unrolled loop iterations allowed per model: more means a loop that is not
// a fixed small repetition of layers.
constexpr std::size_t k_max_unrolled_iterations = 100'000;

// Operators whose output shape depends on the data: a graph of static shapes
// cannot hold them.
const std::unordered_set<std::string>& data_shaped_ops() {
  static const std::unordered_set<std::string> ops{
      "aten::nonzero", "aten::nonzero_numpy", "aten::argwhere", "aten::masked_select", "aten::unique",
      "aten::_unique", "aten::_unique2", "aten::unique_consecutive", "aten::unique_dim"};
  return ops;
}

// Operators that only read a tensor's metadata (or make a new tensor from it):
// folded under the declared shapes.
const std::unordered_set<std::string>& shape_ops() {
  static const std::unordered_set<std::string> ops{
      "aten::size",  "aten::dim",       "aten::numel",      "aten::len",          "prim::dtype",
      "prim::device", "prim::layout",   "prim::is_cuda",    "aten::is_floating_point",
      "prim::requires_grad", "aten::__len__", "prim::is_quantized", "aten::stride",
      // New tensors made from a tensor's shape, dtype and device only (Swin
      // builds its attention mask with x.new_zeros and fills slices of it):
      // constants under the declared shapes. The empty ones are left out:
      // folding them would bake uninitialised memory into the model.
      "aten::new_zeros", "aten::new_ones", "aten::new_full", "aten::zeros_like", "aten::ones_like",
      "aten::full_like"};
  return ops;
}

const std::unordered_set<std::string>& dropout_ops() {
  static const std::unordered_set<std::string> ops{"aten::dropout", "aten::feature_dropout", "aten::alpha_dropout",
                                                   "aten::feature_alpha_dropout", "aten::dropout_",
                                                   "aten::feature_dropout_"};
  return ops;
}

DType dtype_of(const at::Tensor& t) {
  switch (t.scalar_type()) {
    case at::kFloat: return DType::f32;
    case at::kHalf: return DType::f16;
    case at::kLong: return DType::i64;
    case at::kInt: return DType::i32;
    case at::kByte: return DType::u8;
    case at::kBool: return DType::boolean;
    default: break;
  }
  throw std::invalid_argument(fmt::format("tensors of type {} are not supported", c10::toString(t.scalar_type())));
}

}  // namespace

// The user's file and line: the range the saved code was generated from
// when the file kept it, else the saved code's own.
std::string where(const jit::Node* n) {
  const auto& range = n->sourceRange();
  for (const auto& r : {range.findSourceRangeThatGenerated(), c10::optional<jit::SourceRange>(range)}) {
    if (!r) continue;
    if (auto flc = r->file_line_col()) {
      const auto& [file, line, col] = *flc;
      return fmt::format("{}:{}", std::filesystem::path(file).filename().string(), line);
    }
  }
  return "unknown location";
}

IValue Importer::example(const Bound& b, const c10::TypePtr& type) const {
  switch (b.kind) {
    case Bound::Kind::constant: return b.constant;
    case Bound::Kind::tensor: return b.example;
    case Bound::Kind::list: {
      const auto list_type = type->cast<c10::ListType>();
      c10::impl::GenericList list(list_type ? list_type->getElementType() : c10::TensorType::get());
      const c10::TypePtr element = list_type ? list_type->getElementType() : c10::TensorType::get();
      for (const Bound& item : b.items) list.push_back(example(item, element));
      return IValue(std::move(list));
    }
    case Bound::Kind::tuple: {
      std::vector<IValue> items;
      const auto tuple_type = type->cast<c10::TupleType>();
      for (std::size_t i = 0; i < b.items.size(); ++i) {
        items.push_back(example(b.items[i], tuple_type ? tuple_type->elements().at(i) : c10::AnyType::get()));
      }
      return c10::ivalue::Tuple::create(std::move(items));
    }
    case Bound::Kind::poisoned:
    case Bound::Kind::data:
      break;
  }
  throw std::logic_error("import: example of a poisoned value");
}

Arg Importer::arg_of(const Bound& b, const c10::TypePtr& type, std::vector<NodeId>& inputs) const {
  Arg a;
  switch (b.kind) {
    case Bound::Kind::constant:
      a.constant = b.constant;
      return a;
    case Bound::Kind::tensor:
      a.kind = Arg::Kind::input;
      a.input = inputs.size();
      inputs.push_back(b.node);
      return a;
    case Bound::Kind::list: {
      a.kind = Arg::Kind::list;
      const auto list_type = type->cast<c10::ListType>();
      a.element_type = list_type ? list_type->getElementType() : c10::TensorType::get();
      for (const Bound& item : b.items) a.items.push_back(arg_of(item, a.element_type, inputs));
      return a;
    }
    case Bound::Kind::tuple:
    case Bound::Kind::poisoned:
    case Bound::Kind::data:
      break;
  }
  throw std::invalid_argument("a tuple holding tensors computed from the input cannot be an operator's argument");
}

std::string Importer::unique_name(std::string base) {
  if (base.empty()) base = "node";
  std::string name = base;
  for (int k = 2; !names_.insert(name).second; ++k) name = fmt::format("{}_{}", base, k);
  return name;
}

NodeId Importer::add_node(Node node, std::shared_ptr<const NodeKernel> kernel, std::vector<Param> params) {
  node.id = static_cast<NodeId>(nodes_.size());
  node.name = unique_name(node.name);
  for (Param& p : params) {
    p.node = node.id;
    p.name = fmt::format("{}.{}", node.name, p.name);
    params_.push_back(std::move(p));
  }
  nodes_.push_back(std::move(node));
  kernels_.push_back(std::move(kernel));
  return nodes_.back().id;
}

// A readable node name: a parameter's module path ("layer1.0.conv1") when the
// operator reads one, else the value's name in the user's code, else the kind.
std::string Importer::node_name(jit::Node* n, const jit::Value* out, OpKind kind, const std::string& op) const {
  if (kind == OpKind::conv2d || kind == OpKind::linear) {
    for (const jit::Value* in : n->inputs()) {
      const std::string& dn = in->debugName();
      if (in->node()->kind() == c10::prim::Constant && dn.starts_with("self.") && dn.ends_with(".weight")) {
        return dn.substr(5, dn.size() - 5 - 7);
      }
    }
  }
  std::string dn = out->hasDebugName() ? out->debugName() : "";
  if (const auto dot = dn.rfind('.'); dot != std::string::npos &&
                                      std::all_of(dn.begin() + static_cast<std::ptrdiff_t>(dot) + 1, dn.end(),
                                                  [](char c) { return std::isdigit(static_cast<unsigned char>(c)); })) {
    dn.resize(dot);
  }
  const bool numeric = dn.empty() || std::all_of(dn.begin(), dn.end(), [](char c) {
                         return std::isdigit(static_cast<unsigned char>(c));
                       });
  if (!numeric) return dn;
  if (kind != OpKind::generic) return std::string(to_string(kind));
  const auto colons = op.rfind("::");
  return colons == std::string::npos ? op : op.substr(colons + 2);
}

void Importer::run_block(jit::Block* block) {
  for (jit::Node* n : block->nodes()) visit(n);
}

void Importer::visit(jit::Node* n) {
  const auto kind = n->kind();
  const std::string op = op_name(n);
  if (kind == c10::prim::Constant) {
    const auto value = jit::toIValue(n->output());
    if (!value) return problem(n, "a constant tandem cannot read");
    set(n->output(), Bound::of_constant(*value));
    return;
  }
  std::vector<const Bound*> ins;
  bool poisoned = false;
  for (const jit::Value* v : n->inputs()) {
    ins.push_back(&bound(v));
    poisoned = poisoned || ins.back()->poisoned();
  }
  if (poisoned) return poison_outputs(n);  // reported where it started
  const Bound* data = nullptr;
  for (const Bound* in : ins) {
    if (!data) data = in->data_value();
  }
  if (data) return visit_data_valued(n, *data);

  if (kind == c10::prim::If) return visit_if(n);
  if (kind == c10::prim::Loop) return visit_loop(n);
  if (kind == c10::prim::ListConstruct || kind == c10::prim::TupleConstruct) {
    // The interpreter builds these itself (they have no operator to call).
    const bool list = kind == c10::prim::ListConstruct;
    const bool dynamic = std::any_of(ins.begin(), ins.end(), [](const Bound* b) { return b->dynamic(); });
    if (!dynamic) {
      if (list) {
        const auto type = n->output()->type()->expect<c10::ListType>();
        c10::impl::GenericList values(type->getElementType());
        for (const Bound* in : ins) values.push_back(in->constant);
        set(n->output(), Bound::of_constant(IValue(std::move(values))));
      } else {
        std::vector<IValue> values;
        for (const Bound* in : ins) values.push_back(in->constant);
        set(n->output(), Bound::of_constant(c10::ivalue::Tuple::create(std::move(values))));
      }
      ++report_->folded[op];
      return;
    }
    Bound b;
    b.kind = list ? Bound::Kind::list : Bound::Kind::tuple;
    for (const Bound* in : ins) b.items.push_back(*in);
    set(n->output(), std::move(b));
    return;
  }
  if (kind == c10::prim::ListUnpack || kind == c10::prim::TupleUnpack) {
    const Bound& in = *ins.at(0);
    if (in.kind == Bound::Kind::constant) {
      std::vector<IValue> values;
      if (in.constant.isList()) {
        for (const IValue& v : in.constant.toListRef()) values.push_back(v);
      } else if (in.constant.isTuple()) {
        values = in.constant.toTupleRef().elements().vec();
      }
      if (values.size() != n->outputs().size()) return problem(n, "unpacks a different number of values");
      for (std::size_t i = 0; i < values.size(); ++i) set(n->outputs()[i], Bound::of_constant(values[i]));
      ++report_->folded[op];
      return;
    }
    if (in.items.size() != n->outputs().size()) return problem(n, "unpacks a different number of values");
    for (std::size_t i = 0; i < n->outputs().size(); ++i) set(n->outputs()[i], in.items[i]);
    return;
  }
  if (kind == c10::prim::TupleIndex && ins.size() == 2 && ins[0]->kind == Bound::Kind::constant &&
      ins[1]->kind == Bound::Kind::constant && ins[0]->constant.isTuple()) {
    const auto& items = ins[0]->constant.toTupleRef().elements();
    std::int64_t i = ins[1]->constant.toInt();
    if (i < 0) i += static_cast<std::int64_t>(items.size());
    if (i < 0 || i >= static_cast<std::int64_t>(items.size())) return problem(n, "index out of range");
    set(n->output(), Bound::of_constant(items[static_cast<std::size_t>(i)]));
    ++report_->folded[op];
    return;
  }
  if ((kind == c10::prim::TupleIndex || op == "aten::__getitem__") && ins.size() == 2 &&
      ins[0]->kind != Bound::Kind::constant && ins[1]->kind == Bound::Kind::constant &&
      ins[0]->kind != Bound::Kind::tensor) {
    const std::int64_t size = static_cast<std::int64_t>(ins[0]->items.size());
    std::int64_t i = ins[1]->constant.toInt();
    if (i < 0) i += size;
    if (i < 0 || i >= size) return problem(n, "index out of range");
    set(n->output(), ins[0]->items[static_cast<std::size_t>(i)]);
    return;
  }
  if (kind == c10::prim::RaiseException) {
    std::string message = ins.empty() || ins[0]->kind != Bound::Kind::constant ? "" : ins[0]->constant.toStringRef();
    return problem(n, fmt::format("the model raises an exception for these input shapes{}",
                                  message.empty() ? "" : ": " + message.substr(0, 200)));
  }
  if (kind == c10::prim::Uninitialized) {
    set(n->output(), Bound::of_constant(IValue()));
    return;
  }
  if (kind == c10::prim::GetAttr || kind == c10::prim::SetAttr || kind == c10::prim::CallMethod ||
      kind == c10::prim::CallFunction) {
    return problem(n, "left in the graph after freezing and inlining (a module attribute or call tandem cannot fold)");
  }
  if ((op == "aten::__is__" || op == "aten::__isnot__") && ins.size() == 2) {
    // A tensor computed from the input is never None.
    const bool none0 = ins[0]->kind == Bound::Kind::constant && ins[0]->constant.isNone();
    const bool none1 = ins[1]->kind == Bound::Kind::constant && ins[1]->constant.isNone();
    if ((none0 && ins[1]->kind == Bound::Kind::tensor) || (none1 && ins[0]->kind == Bound::Kind::tensor)) {
      set(n->output(), Bound::of_constant(IValue(op == "aten::__isnot__")));
      ++report_->folded[op];
      return;
    }
  }
  if (kind == c10::prim::unchecked_cast && ins.size() == 1) {
    set(n->output(), *ins[0]);
    return;
  }
  if (op == "aten::warn" || kind == c10::prim::Print) {
    ++report_->ignored[op];
    return;
  }
  if (dropout_ops().contains(op)) {
    // dropout(input, p, train): identity in eval mode, and with p = 0 in any
    // mode (torchvision's Swin calls it with training=True and p=0.0; the
    // tracer then records train as the int 1).
    const auto constant_number = [](const Bound* b) -> std::optional<double> {
      if (b->kind != Bound::Kind::constant) return std::nullopt;
      if (b->constant.isBool()) return b->constant.toBool() ? 1.0 : 0.0;
      if (b->constant.isInt()) return static_cast<double>(b->constant.toInt());
      if (b->constant.isDouble()) return b->constant.toDouble();
      return std::nullopt;
    };
    if (ins.size() == 3 && (constant_number(ins[2]) == 0.0 || constant_number(ins[1]) == 0.0)) {
      set(n->output(), *ins[0]);
      ++report_->folded[op];
      return;
    }
    return problem(n, "dropout in training mode (save the model after model.eval())");
  }
  visit_op(n);
}

// A node that reads a number or bool computed from the data: scalar
// arithmetic passes it on; a branch, a loop or a tensor operation cannot.
void Importer::visit_data_valued(jit::Node* n, const Bound& data) {
  const auto kind = n->kind();
  if (kind == c10::prim::If) {
    return problem(n, fmt::format("a branch whose condition depends on the input data (computed by {}); "
                                  "data-dependent control flow cannot be split",
                                  data.origin));
  }
  if (kind == c10::prim::Loop) {
    return problem(n, fmt::format("a loop whose trip count or condition depends on the input data (computed by {})",
                                  data.origin));
  }
  const bool scalar_only = std::none_of(n->outputs().begin(), n->outputs().end(), [](const jit::Value* v) {
    return is_tensor_type(v->type()) || is_tensor_list_type(v->type());
  });
  if (!scalar_only) {
    return problem(n, fmt::format("uses a value computed from the input data (by {}); only tensors may depend on data",
                                  data.origin));
  }
  for (const jit::Value* out : n->outputs()) set(out, Bound{.kind = Bound::Kind::data, .origin = data.origin});
}

void Importer::visit_if(jit::Node* n) {
  const Bound& cond = bound(n->input(0));
  if (cond.kind != Bound::Kind::constant || !cond.constant.isBool()) {
    return problem(n, "a branch whose condition depends on the input data (data-dependent control flow)");
  }
  jit::Block* taken = n->blocks()[cond.constant.toBool() ? 0 : 1];
  run_block(taken);
  for (std::size_t i = 0; i < n->outputs().size(); ++i) set(n->outputs()[i], bound(taken->outputs()[i]));
  ++report_->folded["prim::If"];
}

void Importer::visit_loop(jit::Node* n) {
  const Bound& trips = bound(n->input(0));
  const Bound& start = bound(n->input(1));
  if (trips.kind != Bound::Kind::constant || start.kind != Bound::Kind::constant) {
    return problem(n, "a loop whose trip count or condition depends on the input data");
  }
  jit::Block* body = n->blocks()[0];
  std::vector<Bound> carried;
  for (std::size_t i = 2; i < n->inputs().size(); ++i) carried.push_back(bound(n->input(i)));
  const std::int64_t max_trips = trips.constant.toInt();
  bool go = start.constant.toBool();
  for (std::int64_t iter = 0; go && iter < max_trips; ++iter) {
    if (++unrolled_ > k_max_unrolled_iterations) {
      return problem(n, fmt::format("a loop of more than {} iterations", k_max_unrolled_iterations));
    }
    set(body->inputs()[0], Bound::of_constant(IValue(iter)));
    for (std::size_t i = 0; i < carried.size(); ++i) set(body->inputs()[i + 1], carried[i]);
    const std::size_t problems_before = problems_.size();
    run_block(body);
    if (problems_.size() != problems_before) return poison_outputs(n);
    const Bound& next = bound(body->outputs()[0]);
    if (next.kind != Bound::Kind::constant || !next.constant.isBool()) {
      return problem(n, "a loop whose condition depends on the input data");
    }
    go = next.constant.toBool();
    for (std::size_t i = 0; i < carried.size(); ++i) carried[i] = bound(body->outputs()[i + 1]);
  }
  for (std::size_t i = 0; i < n->outputs().size(); ++i) set(n->outputs()[i], carried.at(i));
  ++report_->folded["prim::Loop"];
}

void Importer::fold(jit::Node* n) {
  if (n->maybeSchema() && n->isNondeterministic()) {
    return problem(n, "a random operator: its value would be frozen into the model");
  }
  jit::Stack stack;
  for (const jit::Value* v : n->inputs()) stack.push_back(example(bound(v), v->type()));
  try {
    n->getOperation()(stack);
  } catch (const c10::Error& e) {
    return problem(n, fmt::format("fails for these input shapes: {}", e.what_without_backtrace()));
  }
  if (stack.size() != n->outputs().size()) return problem(n, "returned an unexpected number of values");
  for (std::size_t i = 0; i < stack.size(); ++i) set(n->outputs()[i], Bound::of_constant(std::move(stack[i])));
  ++report_->folded[op_name(n)];
}

void Importer::visit_op(jit::Node* n) {
  const std::string op = op_name(n);
  bool dynamic = false;
  for (const jit::Value* v : n->inputs()) dynamic = dynamic || bound(v).dynamic();
  if (shape_ops().contains(op) && dynamic) {
    // Metadata of a tensor computed from the input: fixed by the declared shapes.
    return fold(n);
  }
  if (!dynamic) return fold(n);
  data_flow(n);
}

void Importer::data_flow(jit::Node* n) {
  const std::string op = op_name(n);
  if (data_shaped_ops().contains(op)) {
    return problem(n, "its output's shape depends on the input data, which a graph of static shapes cannot hold");
  }
  const c10::FunctionSchema* schema = n->maybeSchema();
  if (!schema) return problem(n, "an operator without a schema tandem cannot run as a node");
  if (n->isNondeterministic()) return problem(n, "a random operator: results would differ from run to run");
  // A number or bool read from tensor data: carried until something needs
  // it known (reported there, naming this place).
  for (const jit::Value* out : n->outputs()) {
    if (!is_tensor_type(out->type()) && !is_tensor_list_type(out->type())) {
      const std::string origin = fmt::format("{} at {}", op, where(n));
      for (const jit::Value* o : n->outputs()) set(o, Bound{.kind = Bound::Kind::data, .origin = origin});
      return;
    }
  }
  std::vector<const Bound*> ins;
  for (const jit::Value* v : n->inputs()) ins.push_back(&bound(v));
  // In-place update: of what, and is it safe to make it functional here?
  const auto& args = schema->arguments();
  std::optional<std::size_t> mutated;
  for (std::size_t i = 0; i < args.size() && i < ins.size(); ++i) {
    if (args[i].alias_info() && args[i].alias_info()->isWrite()) mutated = i;
  }
  if (mutated) {
    const Bound* target = ins[*mutated];
    if (target->kind != Bound::Kind::tensor) return problem(n, "updates a list in place");
    if (nodes_[static_cast<std::size_t>(target->node)].kind == OpKind::input) {
      return problem(n, "updates a graph input in place (make a copy first, e.g. x = x.clone())");
    }
    if (target->view) {
      return problem(n, "updates a view of another tensor in place, which changes that tensor too");
    }
  }
  // Run it on the example values.
  jit::Stack stack;
  for (const jit::Value* v : n->inputs()) stack.push_back(example(bound(v), v->type()));
  try {
    if (mutated) stack.at(*mutated) = stack.at(*mutated).toTensor().clone();
    n->getOperation()(stack);
  } catch (const c10::Error& e) {
    return problem(n, fmt::format("fails on inputs of shapes {} (is --input right?): {}", input_shapes_string(shapes_),
                                  e.what_without_backtrace()));
  } catch (const std::exception& e) {
    return problem(n, e.what());
  }
  if (stack.size() != n->outputs().size()) return problem(n, "returned an unexpected number of values");

  // The node's tensor inputs and its constant arguments.
  std::vector<NodeId> node_inputs;
  std::vector<Arg> kernel_args;
  try {
    for (const jit::Value* v : n->inputs()) kernel_args.push_back(arg_of(bound(v), v->type(), node_inputs));
  } catch (const std::invalid_argument& e) {
    return problem(n, e.what());
  }
  std::optional<std::size_t> clone_input;
  if (mutated) clone_input = kernel_args[*mutated].input;
  std::size_t dynamic_tensors = node_inputs.size();
  std::int64_t const_bytes = 0;
  for (const Bound* b : ins) {
    if (constant_tensor(b)) const_bytes += static_cast<std::int64_t>(b->constant.toTensor().nbytes());
  }
  const bool view = schema->returns().size() == 1 && schema->returns()[0].alias_info() && !mutated;
  const at::Tensor first_input = [&] {
    for (const Bound* b : ins) {
      if (b->kind == Bound::Kind::tensor) return b->example;
      if (b->kind == Bound::Kind::list) {
        for (const Bound& i : b->items) {
          if (i.kind == Bound::Kind::tensor) return i.example;
        }
      }
    }
    return at::Tensor();
  }();

  // One node per tensor output.
  std::vector<Bound> results(n->outputs().size());
  for (std::size_t o = 0; o < n->outputs().size(); ++o) {
    const jit::Value* out = n->outputs()[o];
    const IValue& value = stack[o];
    if (value.isTensor() && !value.toTensor().defined()) {
      // An output the operator leaves undefined for these arguments (e.g.
      // the attention weights of _native_multi_head_attention without
      // need_weights): no data flows through it, so it is no node.
      results[o] = Bound::of_constant(IValue());
      continue;
    }
    std::vector<std::pair<std::optional<std::size_t>, at::Tensor>> pieces;
    if (value.isTensor()) {
      pieces.push_back({std::nullopt, value.toTensor()});
    } else {
      const auto list = value.toTensorList();
      for (std::size_t e = 0; e < list.size(); ++e) pieces.push_back({e, list.get(e)});
    }
    Bound result;
    if (!value.isTensor()) result.kind = Bound::Kind::list;
    for (const auto& [element, tensor] : pieces) {
      Node node;
      const bool single = n->outputs().size() == 1 && !element;
      Mapping m = single ? map_op(op, ins, first_input, tensor, dynamic_tensors) : Mapping{};
      node.kind = m.kind;
      node.attrs = m.attrs;
      node.attrs.op = op;
      if (!m.builtin) node.attrs.const_bytes = const_bytes;
      node.inputs = node_inputs;
      try {
        node.out_shape = shape_of(tensor);
        node.dtype = dtype_of(tensor);
      } catch (const std::invalid_argument& e) {
        return problem(n, e.what());
      }
      std::string name = node_name(n, out, node.kind, op);
      if (element) name = fmt::format("{}.{}", name, *element);
      node.name = name;
      std::shared_ptr<const NodeKernel> kernel;
      std::vector<Param> params;
      if (m.builtin) {
        // Built-in ops take exactly the activation; the parameters are the node's own.
        node.inputs = {node_inputs.at(0)};
        params = std::move(m.params);
      } else {
        kernel = std::make_shared<JitKernel>(n->getOperation(), op, kernel_args, o, element, clone_input);
      }
      ++report_->mapped[op][std::string(to_string(node.kind))];
      Bound b;
      b.kind = Bound::Kind::tensor;
      b.example = tensor;
      b.view = view || element.has_value();
      b.node = add_node(std::move(node), std::move(kernel), std::move(params));
      if (result.kind == Bound::Kind::list) {
        result.items.push_back(std::move(b));
      } else {
        result = std::move(b);
      }
    }
    results[o] = std::move(result);
  }
  for (std::size_t o = 0; o < results.size(); ++o) set(n->outputs()[o], results[o]);
  // After an in-place update, later uses of the updated value see the result.
  if (mutated && results.size() == 1) set(n->input(*mutated), results[0]);
}

}  // namespace tandem::ts_import
