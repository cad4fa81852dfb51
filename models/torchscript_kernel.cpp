// Imported operators as node kernels (models/torchscript_kernel.hpp).

#include "models/torchscript_kernel.hpp"

#include <sstream>
#include <utility>

#include <ATen/ATen.h>
#include <fmt/format.h>

namespace tandem::ts_import {
namespace {

using c10::IValue;

IValue materialise(const Arg& a, const std::vector<at::Tensor>& inputs, std::optional<std::size_t> clone_input) {
  switch (a.kind) {
    case Arg::Kind::constant:
      return a.constant;
    case Arg::Kind::input:
      return clone_input && *clone_input == a.input ? IValue(inputs.at(a.input).clone()) : IValue(inputs.at(a.input));
    case Arg::Kind::list: {
      c10::impl::GenericList list(a.element_type);
      list.reserve(a.items.size());
      for (const Arg& item : a.items) list.push_back(materialise(item, inputs, clone_input));
      return IValue(std::move(list));
    }
  }
  return {};
}

// Folds a constant argument (tensors by dtype, shape and bytes; lists and
// tuples element by element; anything else by its printed form) into `h`.
std::uint64_t hash_ivalue(std::uint64_t h, const IValue& v) {
  if (v.isTensor()) {
    const at::Tensor t = v.toTensor().contiguous();
    const std::string meta = fmt::format("T{}:{}", c10::toString(t.scalar_type()), fmt::join(t.sizes(), "x"));
    h = fingerprint_bytes(h, meta.data(), meta.size());
    return fingerprint_bytes(h, t.data_ptr(), t.nbytes());
  }
  if (v.isList()) {
    for (const IValue& item : v.toListRef()) h = hash_ivalue(h, item);
    return fingerprint_bytes(h, "L", 1);
  }
  if (v.isTuple()) {
    for (const IValue& item : v.toTupleRef().elements()) h = hash_ivalue(h, item);
    return fingerprint_bytes(h, "U", 1);
  }
  std::ostringstream text;
  text << v.tagKind() << ':' << v;
  const std::string s = text.str();
  return fingerprint_bytes(h, s.data(), s.size());
}

std::uint64_t hash_arg(std::uint64_t h, const Arg& a) {
  switch (a.kind) {
    case Arg::Kind::constant: return hash_ivalue(h, a.constant);
    case Arg::Kind::input: return fingerprint_bytes(h, &a.input, sizeof a.input);
    case Arg::Kind::list:
      for (const Arg& item : a.items) h = hash_arg(h, item);
      return fingerprint_bytes(h, "l", 1);
  }
  return h;
}

}  // namespace

JitKernel::JitKernel(torch::jit::Operation op, std::string name, std::vector<Arg> args, std::size_t output,
                     std::optional<std::size_t> element, std::optional<std::size_t> clone_input)
    : op_(std::move(op)), name_(std::move(name)), args_(std::move(args)), output_(output), element_(element),
      clone_input_(clone_input) {}

at::Tensor JitKernel::run(const std::vector<at::Tensor>& inputs) const {
  torch::jit::Stack stack;
  stack.reserve(args_.size());
  for (const Arg& a : args_) stack.push_back(materialise(a, inputs, clone_input_));
  op_(stack);
  const IValue& out = stack.at(output_);
  if (element_) return out.toTensorList().get(*element_);
  return out.toTensor();
}

std::uint64_t JitKernel::fingerprint(std::uint64_t h) const {
  h = fingerprint_bytes(h, name_.data(), name_.size());
  for (const Arg& a : args_) h = hash_arg(h, a);
  const std::uint64_t picks[3] = {output_, element_.value_or(~0ull), clone_input_.value_or(~0ull)};
  return fingerprint_bytes(h, picks, sizeof picks);
}

}  // namespace tandem::ts_import
