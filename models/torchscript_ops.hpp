// The TorchScript importer's operator table: which node kind, attributes
// and parameters an aten operator becomes (docs/design.md §11). Internal to
// models/: torchscript_interpret.cpp interprets the graph and asks map_op about each
// tensor operator that survives folding; torchscript_ops.cpp answers.
#pragma once

#include <algorithm>
#include <cstddef>
#include <string>
#include <vector>

#include <ATen/ATen.h>
#include <ATen/core/ivalue.h>

#include "models/graph.hpp"
#include "models/model.hpp"

namespace tandem::ts_import {

using c10::IValue;

// What a jit::Value is while the graph is interpreted.
struct Bound {
  // data: a number or bool computed from the input data (aten::item,
  // aten::Bool of a tensor, ...), carried until something needs it to be
  // known, where the import fails naming both places.
  enum class Kind { constant, tensor, list, tuple, poisoned, data };
  Kind kind = Kind::constant;
  IValue constant;           // constant: its value
  NodeId node = -1;          // tensor: the IR node that produces it
  at::Tensor example;        // tensor: its value on the seeded inputs
  bool view = false;         // tensor: aliases another tensor's storage
  std::vector<Bound> items;  // list, tuple
  std::string origin;        // data: the operator and place that computed it

  static Bound of_constant(IValue v) {
    Bound b;
    b.constant = std::move(v);
    return b;
  }
  bool dynamic() const {
    if (kind == Kind::tensor || kind == Kind::poisoned || kind == Kind::data) return true;
    return std::any_of(items.begin(), items.end(), [](const Bound& i) { return i.dynamic(); });
  }
  // The first data-valued item, if any.
  const Bound* data_value() const {
    if (kind == Kind::data) return this;
    for (const Bound& i : items) {
      if (const Bound* d = i.data_value()) return d;
    }
    return nullptr;
  }
  bool poisoned() const {
    if (kind == Kind::poisoned) return true;
    return std::any_of(items.begin(), items.end(), [](const Bound& i) { return i.poisoned(); });
  }
};

// The node kind and attributes an operator maps to, or generic. `ins` are the
// bound arguments, `out` the example output.
struct Mapping {
  OpKind kind = OpKind::generic;
  LayerAttrs attrs;
  bool builtin = false;           // run on the zoo's built-in path with `params`
  std::vector<Param> params;      // builtin: in apply_op's order
};

/// The mapping of operator `op` applied to `in` (the bound arguments), whose
/// first tensor argument is `x` and example output `out`; `dynamic_tensors`
/// of the arguments are tensors computed from the inputs. Generic (run
/// through LibTorch as it is) when nothing more specific applies.
Mapping map_op(const std::string& op, const std::vector<const Bound*>& in, const at::Tensor& x,
               const at::Tensor& out, std::size_t dynamic_tensors);

inline Shape shape_of(const at::Tensor& t) { return Shape(t.sizes().begin(), t.sizes().end()); }

inline bool constant_tensor(const Bound* b) { return b->kind == Bound::Kind::constant && b->constant.isTensor(); }

}  // namespace tandem::ts_import
