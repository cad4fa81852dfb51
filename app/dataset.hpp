#pragma once
// Labelled image data sets for accuracy runs (`tandem submit --dataset`, the
// joint-inference benchmark). Today: Fashion-MNIST as Debian's
// dataset-fashion-mnist installs it, four gzipped IDX files. Torch-free.

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace tandem::app {

/// Where Debian's dataset-fashion-mnist puts its files.
inline const std::filesystem::path k_fashion_mnist_dir = "/usr/share/datasets/fashion-mnist";

/// A data set named on a command line: "fashion-mnist" or "fashion-mnist:test"
/// (the 10,000 test images), "fashion-mnist:train" (60,000).
struct DatasetRef {
  std::string name = "fashion-mnist";
  std::string split = "test";
};
/// Parses the form above. Throws std::invalid_argument naming what is known.
DatasetRef parse_dataset(std::string_view text);

/// Images of one channel, row-major, 8-bit, with one label each.
struct LabelledImages {
  std::size_t rows = 0, cols = 0;
  std::vector<std::uint8_t> pixels;  // count × rows × cols
  std::vector<std::uint8_t> labels;  // count
  std::size_t count() const { return labels.size(); }
  /// Image i's pixels (rows × cols).
  const std::uint8_t* image(std::size_t i) const { return pixels.data() + i * rows * cols; }
};

/// Reads `ref` from `dir` (the IDX files, gzipped). Throws std::runtime_error
/// naming the file: missing (with the Debian package that installs it), not
/// gzip or IDX, dims out of bounds (at most 1,000,000 images of up to
/// 1024 × 1024), a size that disagrees with its header, or images and labels
/// of different counts.
LabelledImages load_dataset(const DatasetRef& ref, const std::filesystem::path& dir = k_fashion_mnist_dir);

}  // namespace tandem::app
