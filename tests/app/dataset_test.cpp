// Labelled data sets: Fashion-MNIST's IDX files read, checked and refused.
#include "app/dataset.hpp"

#include <filesystem>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <zlib.h>

namespace tandem::app {
namespace {

namespace fs = std::filesystem;

// Writes `bytes` gzipped to `path`.
void write_gz(const fs::path& path, const std::vector<unsigned char>& bytes) {
  gzFile f = gzopen(path.c_str(), "wb");
  ASSERT_NE(f, nullptr);
  ASSERT_EQ(gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size())), static_cast<int>(bytes.size()));
  gzclose(f);
}

std::vector<unsigned char> idx(std::vector<std::uint32_t> dims, std::size_t data_bytes, unsigned char first = 0) {
  std::vector<unsigned char> out{0, 0, 0x08, static_cast<unsigned char>(dims.size())};
  for (auto d : dims) {
    for (int s = 24; s >= 0; s -= 8) out.push_back(static_cast<unsigned char>(d >> s));
  }
  for (std::size_t i = 0; i < data_bytes; ++i) out.push_back(static_cast<unsigned char>(first + i));
  return out;
}

struct TempDir {
  fs::path path = fs::temp_directory_path() / ("tandem-dataset-" + std::to_string(::getpid()));
  TempDir() { fs::create_directories(path); }
  ~TempDir() { fs::remove_all(path); }
};

TEST(Dataset, ParsesNames) {
  EXPECT_EQ(parse_dataset("fashion-mnist").split, "test");
  EXPECT_EQ(parse_dataset("fashion-mnist:train").split, "train");
  EXPECT_THROW(parse_dataset("mnist"), std::invalid_argument);
  EXPECT_THROW(parse_dataset("fashion-mnist:validation"), std::invalid_argument);
}

TEST(Dataset, ReadsAHandWrittenSet) {
  TempDir dir;
  write_gz(dir.path / "t10k-images-idx3-ubyte.gz", idx({3, 2, 2}, 12));
  write_gz(dir.path / "t10k-labels-idx1-ubyte.gz", idx({3}, 3, 7));
  const auto data = load_dataset(parse_dataset("fashion-mnist"), dir.path);
  EXPECT_EQ(data.count(), 3u);
  EXPECT_EQ(data.rows, 2u);
  EXPECT_EQ(data.cols, 2u);
  EXPECT_EQ(data.image(2)[0], 8);
  EXPECT_EQ(data.labels, (std::vector<std::uint8_t>{7, 8, 9}));
}

TEST(Dataset, RefusesBrokenFilesNamingThem) {
  const struct {
    const char* name;
    std::vector<unsigned char> images;
    std::vector<unsigned char> labels;
    const char* says;
  } cases[] = {
      {"short data", idx({3, 2, 2}, 11), idx({3}, 3), "fewer than the 12 bytes"},
      {"long data", idx({3, 2, 2}, 13), idx({3}, 3), "more than the 12 bytes"},
      {"wrong rank", idx({3, 4}, 12), idx({3}, 3), "rank 3"},
      {"zero dim", idx({0, 2, 2}, 0), idx({3}, 3), "out of bounds"},
      {"huge side", idx({1, 5000, 1}, 0), idx({1}, 1), "out of bounds"},
      {"counts differ", idx({3, 2, 2}, 12), idx({2}, 2), "3 images but 2 labels"},
      {"truncated header", {0, 0, 8}, idx({3}, 3), "too short"},
  };
  for (const auto& c : cases) {
    TempDir dir;
    write_gz(dir.path / "t10k-images-idx3-ubyte.gz", c.images);
    write_gz(dir.path / "t10k-labels-idx1-ubyte.gz", c.labels);
    try {
      load_dataset(parse_dataset("fashion-mnist:test"), dir.path);
      ADD_FAILURE() << c.name << " was accepted";
    } catch (const std::runtime_error& e) {
      EXPECT_NE(std::string(e.what()).find(c.says), std::string::npos) << c.name << ": " << e.what();
    }
  }
  TempDir empty;
  try {
    load_dataset(parse_dataset("fashion-mnist"), empty.path);
    ADD_FAILURE() << "a missing file was accepted";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("dataset-fashion-mnist"), std::string::npos) << e.what();
  }
}

TEST(Dataset, DebiansFashionMnist) {
  if (!fs::exists(k_fashion_mnist_dir / "t10k-images-idx3-ubyte.gz")) {
    GTEST_SKIP() << "Debian's dataset-fashion-mnist is not installed";
  }
  const auto test = load_dataset(parse_dataset("fashion-mnist:test"));
  EXPECT_EQ(test.count(), 10'000u);
  EXPECT_EQ(test.rows, 28u);
  EXPECT_EQ(test.cols, 28u);
  std::vector<int> per_class(10, 0);
  for (auto l : test.labels) {
    ASSERT_LT(l, 10);
    ++per_class[l];
  }
  for (int n : per_class) EXPECT_EQ(n, 1000);  // Fashion-MNIST's test set is balanced
}

}  // namespace
}  // namespace tandem::app
