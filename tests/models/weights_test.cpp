#include <filesystem>
#include <fstream>

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "models/model.hpp"

namespace tandem {
namespace {

std::filesystem::path temp_file(const std::string& name) {
  return std::filesystem::temp_directory_path() /
         (name + "_" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) + "_" +
          std::to_string(reinterpret_cast<std::uintptr_t>(&name)));
}

TEST(Weights, SameSeedSameWeightsDifferentSeedDifferent) {
  const auto a = build_model("resnet18", {.seed = 42});
  const auto b = build_model("resnet18", {.seed = 42});
  const auto c = build_model("resnet18", {.seed = 43});
  ASSERT_EQ(a->params().size(), b->params().size());
  for (std::size_t i = 0; i < a->params().size(); ++i) {
    EXPECT_TRUE(at::equal(a->params()[i].value, b->params()[i].value)) << a->params()[i].name;
  }
  EXPECT_EQ(a->fingerprint(), b->fingerprint());
  EXPECT_NE(a->fingerprint(), c->fingerprint());
  EXPECT_FALSE(at::equal(a->params()[0].value, c->params()[0].value));
}

// Pinned values: the generator is portable, so these hold on every machine.
TEST(Weights, SeededValuesArePinned) {
  const auto m = build_model("lenet", {.seed = 1});
  const at::Tensor w = m->params().front().value;
  EXPECT_EQ(m->params().front().name, "conv1.weight");
  const float bound = std::sqrt(6.0f / 25.0f);
  EXPECT_LE(w.abs().max().item<float>(), bound);
  // Mean of a uniform(-b, b) sample of 150 values is near zero, spread near b/sqrt(3).
  EXPECT_NEAR(w.std().item<float>(), bound / std::sqrt(3.0f), 0.1f);
  EXPECT_EQ(fingerprint_params(m->params()), m->fingerprint());
  // Recorded once; a change here means weights files and fingerprints from
  // earlier builds no longer match.
  const at::Tensor flat = w.flatten();
  EXPECT_EQ(flat[0].item<float>(), 0.333662152f);
  EXPECT_EQ(flat[1].item<float>(), -0.0024260052f);
  EXPECT_EQ(flat[2].item<float>(), -0.332809538f);
  EXPECT_EQ(m->fingerprint(), 0xeafbd3da69fb350aULL);
}

TEST(Weights, FingerprintChangesWhenOneWeightChanges) {
  const auto m = build_model("mobilenet_v2", {.seed = 5});
  std::vector<Param> params;
  for (const auto& p : m->params()) params.push_back({p.node, p.name, p.value.clone()});
  const std::uint64_t before = fingerprint_params(params);
  EXPECT_EQ(before, m->fingerprint());
  auto* data = params[params.size() / 2].value.data_ptr<float>();
  data[3] = std::nextafter(data[3], 1e9f);  // one ulp in one weight
  EXPECT_NE(fingerprint_params(params), before);
}

TEST(Weights, SaveLoadRoundTrip) {
  const auto m = build_model("googlenet", {.seed = 8});
  const auto path = temp_file("googlenet.tw");
  m->save_weights(path);
  const auto loaded = build_model("googlenet", {.file = path});
  EXPECT_EQ(loaded->fingerprint(), m->fingerprint());
  for (std::size_t i = 0; i < m->params().size(); ++i) {
    EXPECT_TRUE(at::equal(m->params()[i].value, loaded->params()[i].value));
  }
  const at::Tensor x = m->make_input(3);
  EXPECT_TRUE(at::equal(m->run(x).begin()->second, loaded->run(x).begin()->second));
  std::filesystem::remove(path);
}

TEST(Weights, RejectsWrongModelCorruptAndMissingFiles) {
  const auto m = build_model("lenet", {.seed = 8});
  const auto path = temp_file("lenet.tw");
  m->save_weights(path);
  EXPECT_THROW(build_model("alexnet", {.file = path}), std::runtime_error);
  {
    // Flip one byte near the end (inside the last tensor's data).
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(-5, std::ios::end);
    char c = 0;
    f.read(&c, 1);
    f.seekp(-5, std::ios::end);
    c = static_cast<char>(c ^ 0x10);
    f.write(&c, 1);
  }
  try {
    build_model("lenet", {.file = path});
    FAIL() << "corrupt file accepted";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("corrupt"), std::string::npos) << e.what();
  }
  std::filesystem::resize_file(path, 100);
  EXPECT_THROW(build_model("lenet", {.file = path}), std::runtime_error);
  std::filesystem::remove(path);
  EXPECT_THROW(build_model("lenet", {.file = path}), std::runtime_error);
}

// Found by fuzz/tensor_file_fuzz.cpp under UBSan: two dimensions each under
// the element cap (2^32 - 3 and 2^32) overflowed the element count's int64_t
// before it was compared with the cap.
TEST(TensorFile, DimensionsWhoseProductOverflowsAreRefused) {
  const auto path = std::filesystem::temp_directory_path() / "tandem_overflow.tensor";
  {
    std::ofstream out(path, std::ios::binary);
    out.write("TNDMTNS1", 8);
    const std::uint8_t rank = 2;
    out.write(reinterpret_cast<const char*>(&rank), 1);
    for (const std::int64_t d : {(std::int64_t{1} << 32) - 3, std::int64_t{1} << 32}) {
      out.write(reinterpret_cast<const char*>(&d), sizeof d);
    }
  }
  try {
    load_tensor(path);
    FAIL() << "accepted";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("corrupt header (dimension 4294967296)"), std::string::npos) << e.what();
  }
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace tandem
