#pragma once
// The models a daemon or a command can name: the zoo, the TorchScript files
// of a model directory, and (for commands) a TorchScript file given by path.
//
// A model directory holds NAME.pt (a TorchScript file: traced, scripted,
// frozen or not) and beside it NAME.json, which says the input shape(s):
//   {"input": "1x3x224x224"}            one input
//   {"input": "1x3x32x32,1x10"}         a model whose forward() takes two tensors
// A .pt without its .json, or a .json that does not parse, is an error naming
// the file. NAME is the model's name in tasks, plans and the wire protocol;
// it must not be a zoo name.

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "models/graph.hpp"
#include "models/model.hpp"

namespace tandem {

/// One TorchScript model of a catalog.
struct ImportedSpec {
  std::string name;
  std::filesystem::path file;
  std::vector<Shape> inputs;
};

class ModelCatalog {
 public:
  /// The zoo alone.
  ModelCatalog() = default;
  /// The zoo and every model of `model_dir` (empty: none). Throws
  /// std::runtime_error naming the file for a directory that cannot be read,
  /// a .pt without its .json, a bad .json, or a name the zoo already has.
  explicit ModelCatalog(const std::filesystem::path& model_dir);

  /// Zoo names, then the directory's, in a stable order.
  std::vector<std::string> names() const;
  /// True when `name` is a zoo model or a model of the directory.
  bool contains(const std::string& name) const;
  /// The directory's models.
  const std::vector<ImportedSpec>& imported() const { return imported_; }

  /// Loads `name`: a zoo model (weights from `zoo_weights`) or an imported
  /// one. Throws std::invalid_argument for an unknown name (listing the known
  /// ones), ImportError / std::runtime_error for a file that does not import.
  std::shared_ptr<const Model> load(const std::string& name, const WeightSource& zoo_weights = {}) const;

  /// Resolves what a command line names: a catalog name, or a path to a .pt
  /// file, which then needs `inputs` (from --input). Throws
  /// std::invalid_argument saying what is missing.
  std::shared_ptr<const Model> load_reference(const std::string& model, const std::vector<Shape>& inputs,
                                              const WeightSource& zoo_weights = {}) const;

 private:
  std::vector<ImportedSpec> imported_;
};

/// Reads NAME.json beside a model file: its input shapes. Throws
/// std::runtime_error naming the file.
std::vector<Shape> read_input_spec(const std::filesystem::path& json_file);

}  // namespace tandem
