// The node kernel that runs one imported TorchScript operator with its
// constant arguments (docs/design.md §11). Internal to models/:
// torchscript_interpret.cpp builds one for every node whose kind's built-in op does not
// say all the operator does.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <ATen/core/ivalue.h>
#include <torch/csrc/jit/runtime/operator.h>

#include "models/model.hpp"

namespace tandem::ts_import {

// One argument of an imported operator: a folded constant, one of the node's
// inputs, or a list mixing both (aten::cat's tensors).
struct Arg {
  enum class Kind { constant, input, list };
  Kind kind = Kind::constant;
  c10::IValue constant;
  std::size_t input = 0;
  c10::TypePtr element_type;
  std::vector<Arg> items;
};

// Runs one imported operator: pushes its arguments (the node's inputs in
// place of Arg::Kind::input), calls it, and keeps output `output` (element
// `element` of it when it is a list of tensors). `clone_input`: the argument
// the operator writes in place, cloned first so that the caller's tensor is
// left alone.
class JitKernel final : public NodeKernel {
 public:
  JitKernel(torch::jit::Operation op, std::string name, std::vector<Arg> args, std::size_t output,
            std::optional<std::size_t> element, std::optional<std::size_t> clone_input);

  at::Tensor run(const std::vector<at::Tensor>& inputs) const override;
  std::uint64_t fingerprint(std::uint64_t h) const override;

 private:
  mutable torch::jit::Operation op_;  // stateless ATen operators: safe to call from several threads
  std::string name_;
  std::vector<Arg> args_;
  std::size_t output_;
  std::optional<std::size_t> element_;
  std::optional<std::size_t> clone_input_;
};

}  // namespace tandem::ts_import
