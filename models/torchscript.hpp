#pragma once
// TorchScript import: a user's trained network, saved from PyTorch with
// torch.jit.trace or torch.jit.script (frozen or not), becomes a Model of
// tandem's graph IR that plans, profiles and splits like a zoo model
// (docs/design.md §11).
//
// The file is loaded (torch::jit::load), put in eval mode, frozen when it is
// not (torch::jit::freeze_module: attributes become constants, no numerics
// passes, so the user's layers stay as they are), every call inlined, and
// in-place tensor ops made functional where that is provably safe. Then a
// small interpreter walks the graph once on seeded inputs of the declared
// shapes: everything that is not tensor data flow — aten::size,
// prim::NumToTensor, aten::Int, integer arithmetic, lists and tuples of
// constants, prim::Constant, branches and loops whose conditions are known,
// dropout in eval mode, shape assertions — is folded into constants under
// those shapes. What is left is a DAG of tensor operations; each becomes one
// node. Known operators map to node kinds with their attributes (conv2d,
// linear, batch norm, activations, pools, add, mul, cat, flatten/reshape,
// transpose/permute, contiguous, mean, softmax, matmul), so the predictor's
// features apply; anything else is a `generic` node that runs the original
// operator. Convolutions, linear layers and batch norms run on the same
// built-in paths as the zoo (oneDNN convolution); every other node runs its
// operator with its folded constant arguments.
//
// Multi-output operators (chunk, split, unbind, max with indices, ...) become
// one node per output: each runs the operator and keeps its own output (the
// split ones are views, so the repeat costs microseconds).
//
// What cannot be imported is refused with one error that names every
// offending operator and where it is in the user's source: a branch or loop
// whose condition depends on the input, an in-place update of a graph input
// or of a view, a non-tensor value computed from the data, an operator whose
// output shape depends on the data, a random operator, an exception the model
// raises for the declared shapes, a wrong number or shape of inputs.

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "models/graph.hpp"
#include "models/model.hpp"

namespace tandem {

/// Raised when a TorchScript file cannot be imported. what() is one line per
/// problem: the file, then each offending operator with its source location.
class ImportError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct ImportOptions {
  std::string name;           // the model's name; empty: the file's stem
  std::vector<Shape> inputs;  // one shape per tensor input of forward(), in order
};

/// How each TorchScript operator of the graph was treated.
struct ImportReport {
  std::map<std::string, std::map<std::string, int>> mapped;  // operator -> node kind -> nodes
  std::map<std::string, int> folded;   // operators folded into constants
  std::map<std::string, int> ignored;  // side effects left out (aten::warn, prim::Print)
  std::vector<std::string> constant_outputs;  // outputs that do not depend on the inputs
  bool was_frozen = false;      // the file was already frozen
  double seconds = 0;           // load + freeze + interpret + build
};

/// Imports `file`. Throws ImportError (what cannot be imported, each place
/// named) or std::runtime_error (the file cannot be read or is not
/// TorchScript).
std::shared_ptr<const Model> import_torchscript(const std::filesystem::path& file, const ImportOptions& options,
                                                ImportReport* report = nullptr);

/// Parses input shapes: "1x3x224x224", or several separated by ',' for a model
/// taking several tensors ("1x3x32x32,1x10"). Throws std::invalid_argument
/// naming the text.
std::vector<Shape> parse_input_shapes(std::string_view text);
/// The inverse of parse_input_shapes.
std::string input_shapes_string(const std::vector<Shape>& shapes);

}  // namespace tandem
