// Writes the seed corpora of the fuzz targets: a handful of valid inputs per
// target, made with the library's own encoders and writers so they stay in
// step with the formats — except tensor files, whose writer needs LibTorch
// (which this clang build cannot compile): those follow the layout in
// models/model.hpp, and fuzz_tensor_file loads every one of them.
// Usage: make_corpus OUT_DIR PROFILE_JSON
// (scripts/fuzz.sh --seeds runs it into fuzz/corpus/ with profiles/cloud.json).

#include <bit>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "control/protocol.hpp"
#include "net/byte_io.hpp"
#include "net/messages.hpp"
#include "predictor/profile.hpp"

namespace {

namespace fs = std::filesystem;
using namespace tandem;
using Bytes = std::vector<std::uint8_t>;

fs::path g_out;

void write(const std::string& target, const std::string& name, const Bytes& bytes) {
  const fs::path dir = g_out / target;
  fs::create_directories(dir);
  std::ofstream out(dir / name, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  if (!out) throw std::runtime_error("cannot write " + (dir / name).string());
}

void write_text(const std::string& target, const std::string& name, const std::string& text) {
  write(target, name, Bytes(text.begin(), text.end()));
}

// A finished frame as it travels: header + payload.
Bytes wire(const net::Expected<net::OutgoingFrame>& frame) {
  if (!frame) throw std::runtime_error("encoding a seed: " + frame.error().message);
  Bytes out;
  for (const auto& b : frame.value().buffers()) {
    const auto* p = static_cast<const std::uint8_t*>(b.data());
    out.insert(out.end(), p, p + b.size());
  }
  return out;
}

Bytes payload_of(const Bytes& frame) { return Bytes(frame.begin() + net::k_header_size, frame.end()); }

net::WireTensor small_tensor(NodeId node, Shape shape, net::Codec codec) {
  std::int64_t n = 1;
  for (auto d : shape) n *= d;
  std::vector<float> v(static_cast<std::size_t>(n));
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = 0.25f * static_cast<float>(i) - 1.0f;
  return net::make_f32_tensor(node, std::move(shape), std::move(v), codec);
}

// name -> frame, one per message type the wire carries.
std::vector<std::pair<std::string, Bytes>> sample_frames() {
  net::Challenge challenge;
  challenge.server_nonce.fill(3);
  challenge.server_name = "cloud";
  net::Hello hello;
  hello.client_name = "edge";
  hello.client_nonce.fill(5);
  hello.proof.fill(9);
  hello.models = {{"resnet18", 0x1234}, {"lenet", 42}};
  net::HelloAck ack;
  ack.server_name = "cloud";
  ack.load = {2, 1, 3.5};
  net::InferRequest infer;
  infer.model = "lenet";
  infer.edge_nodes = {true, true, true, false, false, false, false, false, false, false, false, false, false};
  infer.deadline_ms = 250;
  infer.tensors = {small_tensor(2, {1, 2, 3}, net::Codec::raw), small_tensor(1, {4}, net::Codec::fp16)};
  net::InferResult result;
  result.outputs = {small_tensor(12, {1, 10}, net::Codec::raw)};
  result.compute_ms = 1.5;
  result.queue_wait_ms = 0.25;
  result.receive = {0.5, 1000};
  result.load = {0, 1, 2.0};
  return {
      {"challenge", wire(net::encode_message(challenge))},
      {"hello", wire(net::encode_message(hello))},
      {"hello_ack", wire(net::encode_message(ack))},
      {"infer", wire(net::encode_message(infer, 11))},
      {"result", wire(net::encode_message(result, 11))},
      {"error", wire(net::encode_message(net::ErrorMessage{net::Errc::unknown_model, "no such model"}, 3, true))},
      {"probe", wire(net::encode_message(net::Probe{64, 32}, 4))},
      {"probe_ack", wire(net::encode_message(net::ProbeAck{56, {0.5, 32}, 16}, 4))},
      {"status_request", wire(net::encode_status_request(5))},
      {"status", wire(net::encode_message(net::Status{{3, 1, 4.5}}, 5))},
  };
}

void frame_seeds() {
  const auto frames = sample_frames();
  Bytes stream = {0x2B, 0x40};  // chunk seed, largest chunk (frame_parser_fuzz.cpp)
  for (const auto& [name, bytes] : frames) {
    Bytes one = {0x11, 0x07};
    one.insert(one.end(), bytes.begin(), bytes.end());
    write("frame_parser", name, one);
    stream.insert(stream.end(), bytes.begin(), bytes.end());
  }
  write("frame_parser", "all_in_one_stream", stream);
  for (const auto& [name, bytes] : frames) {
    Bytes seed = {static_cast<std::uint8_t>(bytes[net::k_off_type] - 1)};  // messages_fuzz.cpp: type = 1 + byte 0
    const Bytes payload = payload_of(bytes);
    seed.insert(seed.end(), payload.begin(), payload.end());
    write("messages", name, seed);
  }
}

void tensor_seeds() {
  const std::vector<std::pair<std::string, net::WireTensor>> tensors = {
      {"f32_raw", small_tensor(3, {1, 3, 2, 2}, net::Codec::raw)},
      {"f32_fp16", small_tensor(4, {2, 5}, net::Codec::fp16)},
      {"scalar", small_tensor(0, {}, net::Codec::raw)},
      {"empty", small_tensor(7, {0, 4}, net::Codec::raw)},
  };
  Bytes both;
  for (const auto& [name, t] : tensors) {
    net::OutgoingFrame frame(net::MessageType::result, 1);
    if (net::encode_tensor(frame, t)) throw std::runtime_error("encoding seed tensor " + name);
    frame.finish();
    const Bytes payload = payload_of(wire(std::move(frame)));
    write("tensor_codec", name, payload);
    both.insert(both.end(), payload.begin(), payload.end());
  }
  write("tensor_codec", "several", both);
}

void control_seeds() {
  control::TaskSpec full;
  full.task = 7;
  full.model = "resnet18";
  full.seed = 1;
  full.input_file = "x.tensor";
  full.deadline_ms = 150;
  full.plan = control::parse_plan_choice("cut:0-12,15");
  full.return_outputs = true;
  control::TaskSpec split;
  split.task = 8;
  split.model = "alexnet";
  split.plan = control::parse_plan_choice("split:5");
  control::TaskResult result;
  result.task = 7;
  result.model = "resnet18";
  result.ok = true;
  result.placement = partition::Placement::split;
  result.cut = "0-12";
  result.output_shape = {1, 1000};
  result.outputs = {0.5f, -1.0f};
  write_text("control", "task_full", control::to_line(full));
  write_text("control", "task_split", control::to_line(split));
  write_text("control", "task_minimal", R"({"model": "lenet"})");
  write_text("control", "task_edge_only", R"({"task": 3, "model": "vgg16", "plan": "edge_only", "codec": "fp16", "objective": "energy"})");
  write_text("control", "status", control::status_request_line());
  write_text("control", "auth", control::auth_request_line("secret"));
  write_text("control", "result", control::to_line(result));
  write_text("control", "status_reply", control::to_line(control::Status{}));
  write_text("control", "error_reply", control::to_line(control::ErrorReply{false, "line 1: bad", 4}));
}

void units_seeds() {
  const std::vector<std::string> texts = {"5.85mbit",  "100kbit/s", "1Gbit",      "2MB/s",
                                          "20ms",      "150us",     "1.5s",       "64KiB",
                                          "1MB",       "512B",      "1e3kbit",    "5.85mbit,rtt=40ms",
                                          "5.85mbit,one-way=20ms",  "rtt=40ms"};
  for (std::size_t i = 0; i < texts.size(); ++i) write_text("units", "u" + std::to_string(i), texts[i]);
}

// A real profile cut down to a few entries of each list, so seeds stay small.
void profile_seeds(const fs::path& real_profile) {
  predictor::DeviceProfile p = predictor::load_profile(real_profile);
  auto keep = [](auto& v, std::size_t n) { v.resize(std::min(v.size(), n)); };
  keep(p.measured, 2);
  keep(p.runs, 2);
  keep(p.samples, 3);
  auto& classes = p.regressions.regressors;
  for (auto it = classes.begin(); it != classes.end();) {
    it = (it->first == "relu" || it->first == "conv2d.kxk" || it->first == "linear") ? std::next(it) : classes.erase(it);
  }
  write_text("profile", "small", predictor::to_json(p).dump());
  p.measured.clear();
  p.runs.clear();
  p.samples.clear();
  classes.clear();
  write_text("profile", "empty_lists", predictor::to_json(p).dump(1));
}

// One tensor of a tensor file: u8 rank, i64 dims, f32 data (models/model.hpp save_tensor).
void put_file_tensor(net::ByteWriter& w, const Shape& shape) {
  w.u8(static_cast<std::uint8_t>(shape.size()));
  std::int64_t n = 1;
  for (auto d : shape) {
    w.i64(d);
    n *= d;
  }
  for (std::int64_t i = 0; i < n; ++i) w.u32(std::bit_cast<std::uint32_t>(0.5f * static_cast<float>(i)));
}

void tensor_file_seeds() {
  const std::string one = "TNDMTNS1", several = "TNDMTNS2";
  const std::vector<std::pair<std::string, Shape>> singles = {{"image", {1, 3, 4, 4}}, {"scalar", {}}, {"empty", {0, 3}}};
  for (const auto& [name, shape] : singles) {
    std::vector<std::byte> bytes(reinterpret_cast<const std::byte*>(one.data()),
                                 reinterpret_cast<const std::byte*>(one.data() + one.size()));
    net::ByteWriter w(bytes);
    put_file_tensor(w, shape);
    write("tensor_file", name, Bytes(reinterpret_cast<const std::uint8_t*>(bytes.data()),
                                     reinterpret_cast<const std::uint8_t*>(bytes.data() + bytes.size())));
  }
  std::vector<std::byte> bytes(reinterpret_cast<const std::byte*>(several.data()),
                               reinterpret_cast<const std::byte*>(several.data() + several.size()));
  net::ByteWriter w(bytes);
  w.u8(2);
  put_file_tensor(w, {1, 3, 2, 2});
  put_file_tensor(w, {1, 10});
  write("tensor_file", "two_inputs", Bytes(reinterpret_cast<const std::uint8_t*>(bytes.data()),
                                           reinterpret_cast<const std::uint8_t*>(bytes.data() + bytes.size())));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::cerr << "usage: make_corpus OUT_DIR PROFILE_JSON\n";
    return 2;
  }
  try {
    g_out = argv[1];
    frame_seeds();
    tensor_seeds();
    control_seeds();
    units_seeds();
    profile_seeds(argv[2]);
    tensor_file_seeds();
  } catch (const std::exception& e) {
    std::cerr << "make_corpus: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
