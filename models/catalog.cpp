#include "models/catalog.hpp"

#include <algorithm>
#include <fstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "models/graph_builder.hpp"
#include "models/torchscript.hpp"

namespace tandem {

std::vector<Shape> read_input_spec(const std::filesystem::path& json_file) {
  std::ifstream in(json_file);
  if (!in) throw std::runtime_error(fmt::format("cannot read {}", json_file.string()));
  try {
    const auto j = nlohmann::json::parse(in);
    if (!j.is_object() || !j.contains("input") || !j.at("input").is_string()) {
      throw std::invalid_argument(R"(expected {"input": "1x3x224x224"})");
    }
    return parse_input_shapes(j.at("input").get<std::string>());
  } catch (const std::exception& e) {
    throw std::runtime_error(fmt::format("{}: {}", json_file.string(), e.what()));
  }
}

ModelCatalog::ModelCatalog(const std::filesystem::path& model_dir) {
  if (model_dir.empty()) return;
  std::error_code ec;
  if (!std::filesystem::is_directory(model_dir, ec)) {
    throw std::runtime_error(fmt::format("model directory {}: not a directory", model_dir.string()));
  }
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(model_dir, ec)) {
    if (entry.path().extension() == ".pt") files.push_back(entry.path());
  }
  if (ec) throw std::runtime_error(fmt::format("model directory {}: {}", model_dir.string(), ec.message()));
  std::sort(files.begin(), files.end());
  for (const auto& file : files) {
    ImportedSpec spec;
    spec.name = file.stem().string();
    spec.file = file;
    auto json = file;
    json.replace_extension(".json");
    if (!std::filesystem::exists(json)) {
      throw std::runtime_error(fmt::format(
          "{}: no {} beside it saying its input shape (e.g. {{\"input\": \"1x3x224x224\"}})", file.string(),
          json.filename().string()));
    }
    if (is_zoo_model(spec.name)) {
      throw std::runtime_error(fmt::format("{}: '{}' is a zoo model's name; rename the file", file.string(), spec.name));
    }
    spec.inputs = read_input_spec(json);
    imported_.push_back(std::move(spec));
  }
}

std::vector<std::string> ModelCatalog::names() const {
  std::vector<std::string> out = zoo_names();
  for (const auto& spec : imported_) out.push_back(spec.name);
  return out;
}

bool ModelCatalog::contains(const std::string& name) const {
  return is_zoo_model(name) ||
         std::any_of(imported_.begin(), imported_.end(), [&](const ImportedSpec& s) { return s.name == name; });
}

std::shared_ptr<const Model> ModelCatalog::load(const std::string& name, const WeightSource& zoo_weights) const {
  if (is_zoo_model(name)) return build_model(name, zoo_weights);
  for (const auto& spec : imported_) {
    if (spec.name == name) return import_torchscript(spec.file, {.name = spec.name, .inputs = spec.inputs});
  }
  throw std::invalid_argument(fmt::format("unknown model '{}' (known: {})", name, fmt::join(names(), ", ")));
}

std::shared_ptr<const Model> ModelCatalog::load_reference(const std::string& model, const std::vector<Shape>& inputs,
                                                          const WeightSource& zoo_weights) const {
  if (contains(model)) {
    if (!inputs.empty() && !is_zoo_model(model)) {
      for (const auto& spec : imported_) {
        if (spec.name == model) return import_torchscript(spec.file, {.name = spec.name, .inputs = inputs});
      }
    }
    return load(model, zoo_weights);
  }
  if (model.ends_with(".pt") || std::filesystem::is_regular_file(model)) {
    std::vector<Shape> shapes = inputs;
    if (shapes.empty()) {
      auto json = std::filesystem::path(model);
      json.replace_extension(".json");
      if (!std::filesystem::exists(json)) {
        throw std::invalid_argument(fmt::format("{}: give its input shape with --input, e.g. --input 1x3x224x224",
                                                model));
      }
      shapes = read_input_spec(json);
    }
    return import_torchscript(model, {.name = "", .inputs = shapes});
  }
  throw std::invalid_argument(
      fmt::format("unknown model '{}' (known: {}; or a TorchScript .pt file)", model, fmt::join(names(), ", ")));
}

}  // namespace tandem
