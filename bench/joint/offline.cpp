#include "bench/joint/offline.hpp"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <map>

#include <ATen/ATen.h>
#include <fmt/format.h>

#include "edge_daemon/codec_policy.hpp"
#include "edge_daemon/miner.hpp"
#include "net/byte_io.hpp"
#include "net/tensor_codec.hpp"
#include "net/torch_bridge.hpp"

namespace tandem::bench {
namespace {

using Clock = std::chrono::steady_clock;

at::Tensor image_tensor(const app::LabelledImages& data, std::size_t i) {
  at::Tensor t = at::empty({1, 1, static_cast<std::int64_t>(data.rows), static_cast<std::int64_t>(data.cols)}, at::kFloat);
  std::copy(data.image(i), data.image(i) + data.rows * data.cols, t.data_ptr<float>());
  return t;
}

at::Tensor first_output(const TensorMap& outputs) { return outputs.begin()->second.contiguous(); }

std::int64_t argmax(const float* v, std::size_t n) { return std::max_element(v, v + n) - v; }

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(v.size() / 2), v.end());
  return v[v.size() / 2];
}

// One tensor through the wire codec: encoded into a frame, its payload
// gathered as the receiver would see it, decoded.
struct Trip {
  at::Tensor decoded;
  std::size_t wire_bytes = 0;
  double encode_ms = 0, decode_ms = 0;
};

Trip wire_trip(NodeId node, const at::Tensor& tensor, net::Codec codec) {
  Trip trip;
  const auto t0 = Clock::now();
  net::OutgoingFrame frame(net::MessageType::infer, 1);
  const net::WireTensor wire = net::to_wire(node, tensor, codec);
  if (auto e = net::encode_tensor(frame, wire)) throw std::runtime_error(e->message);
  if (!frame.finish()) throw std::runtime_error("frame too large");
  const auto t1 = Clock::now();
  auto payload = std::make_shared<std::vector<std::byte>>();
  const auto buffers = frame.buffers();
  for (std::size_t i = 1; i < buffers.size(); ++i) {
    const auto* p = static_cast<const std::byte*>(buffers[i].data());
    payload->insert(payload->end(), p, p + buffers[i].size());
  }
  trip.wire_bytes = payload->size();
  const auto t2 = Clock::now();
  net::ByteReader reader(*payload);
  auto decoded = net::decode_tensor(reader, payload);
  if (!decoded) throw std::runtime_error(decoded.error().message);
  trip.decoded = net::from_wire(decoded.value()).clone();
  const auto t3 = Clock::now();
  trip.encode_ms = std::chrono::duration<double, std::milli>(t1 - t0).count();
  trip.decode_ms = std::chrono::duration<double, std::milli>(t3 - t2).count();
  return trip;
}

std::vector<Cut> cuts_of(const GraphDesc& g) {
  std::vector<Cut> cuts;
  if (g.is_chain()) {
    for (std::size_t s = 0; s + 1 < g.size(); ++s) cuts.push_back(Cut::chain_prefix(g, s));
  } else {
    cuts.push_back(Cut::cloud_only(g));
    for (const Cut& c : articulation_cuts(g)) {
      if (!c.is_edge_only() && !c.is_cloud_only()) cuts.push_back(c);
    }
  }
  return cuts;
}

}  // namespace

Logits compute_logits(const Model& little, const Model& big, const app::LabelledImages& data, std::size_t limit) {
  Logits out;
  const std::size_t n = std::min(limit, data.count());
  for (std::size_t i = 0; i < n; ++i) {
    const at::Tensor x = image_tensor(data, i);
    const at::Tensor a = first_output(little.run(x));
    const at::Tensor b = first_output(big.run(x));
    if (out.classes == 0) out.classes = static_cast<std::size_t>(a.numel());
    if (static_cast<std::size_t>(a.numel()) != out.classes || static_cast<std::size_t>(b.numel()) != out.classes) {
      throw std::runtime_error(fmt::format("the models disagree on the number of classes ({} and {})", a.numel(), b.numel()));
    }
    out.little.insert(out.little.end(), a.data_ptr<float>(), a.data_ptr<float>() + a.numel());
    out.big.insert(out.big.end(), b.data_ptr<float>(), b.data_ptr<float>() + b.numel());
    out.labels.push_back(data.labels[i]);
  }
  return out;
}

Logits every_other(const Logits& logits, std::size_t first) {
  Logits out;
  out.classes = logits.classes;
  const std::size_t c = logits.classes;
  for (std::size_t i = first; i < logits.count(); i += 2) {
    out.little.insert(out.little.end(), logits.little.begin() + i * c, logits.little.begin() + (i + 1) * c);
    out.big.insert(out.big.end(), logits.big.begin() + i * c, logits.big.begin() + (i + 1) * c);
    out.labels.push_back(logits.labels[i]);
  }
  return out;
}

SweepPoint evaluate_miner(const Logits& logits, control::MinerKind miner, double threshold, double box_threshold) {
  const edge::MinerConfig config{miner, threshold, box_threshold};
  std::size_t correct = 0, edge = 0;
  const std::size_t c = logits.classes;
  for (std::size_t i = 0; i < logits.count(); ++i) {
    const std::span<const float> little(logits.little.data() + i * c, c);
    const bool hard = edge::mine(config, little).hard;
    const float* answer = hard ? logits.big.data() + i * c : logits.little.data() + i * c;
    correct += argmax(answer, c) == logits.labels[i];
    edge += !hard;
  }
  const auto n = static_cast<double>(logits.count());
  return {miner, miner == control::MinerKind::ibt ? box_threshold : threshold, 100.0 * static_cast<double>(correct) / n,
          100.0 * static_cast<double>(edge) / n};
}

edge::MinerConfig miner_config(const SweepPoint& point) {
  if (point.miner == control::MinerKind::ibt) {
    return {point.miner, edge::default_threshold(point.miner), point.threshold};
  }
  return {point.miner, point.threshold, 0};
}

double big_only_accuracy(const Logits& logits) {
  return evaluate_miner(logits, control::MinerKind::ibt, 1.0, 0.5).accuracy;
}

std::vector<SweepPoint> sweep_thresholds(const Logits& logits) {
  std::vector<SweepPoint> out;
  using control::MinerKind;
  for (double t : {0.3, 0.4, 0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 0.925, 0.95, 0.97, 0.98, 0.99, 0.995, 0.999}) {
    out.push_back(evaluate_miner(logits, MinerKind::confidence, t, 0));
  }
  for (double t : {0.01, 0.02, 0.05, 0.08, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.5, 0.6, 0.8}) {
    out.push_back(evaluate_miner(logits, MinerKind::entropy, t, 0));
  }
  for (double box : {0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 0.925, 0.95, 0.97, 0.98, 0.99, 0.995, 0.999}) {
    out.push_back(evaluate_miner(logits, MinerKind::ibt, edge::default_threshold(MinerKind::ibt), box));
  }
  return out;
}

std::vector<CodecCut> codec_table(const Model& big, const app::LabelledImages& data, const Logits& logits,
                                  std::size_t samples) {
  const GraphDesc& g = big.graph();
  const std::size_t n = std::min(samples, logits.count());
  const std::size_t c = logits.classes;
  std::vector<CodecCut> table;
  for (const Cut& cut : cuts_of(g)) {
    const auto crossing = cut.crossing(g);
    std::string names;
    for (NodeId id : crossing) names += (names.empty() ? "" : "+") + g.node(id).name;
    struct Acc {
      double raw = 0, wire = 0;
      std::size_t changed = 0, correct = 0, mismatched = 0;
      std::vector<double> encode, decode;
    };
    std::map<partition::Codec, Acc> acc;
    for (std::size_t i = 0; i < n; ++i) {
      const TensorMap held = big.run_edge(cut, image_tensor(data, i));
      const std::int64_t reference = argmax(logits.big.data() + i * c, c);
      std::map<partition::Codec, TensorMap> decoded;
      for (partition::Codec codec : partition::k_codecs) {
        Acc& a = acc[codec];
        TensorMap& arrived = decoded[codec];
        for (NodeId id : crossing) {
          const at::Tensor& t = held.at(id);
          Trip trip = wire_trip(id, t, edge::wire_codec(codec));
          a.raw += static_cast<double>(t.numel() * 4);
          a.wire += static_cast<double>(trip.wire_bytes);
          a.encode.push_back(trip.encode_ms);
          a.decode.push_back(trip.decode_ms);
          arrived.emplace(id, std::move(trip.decoded));
        }
      }
      // The top-1 each precision leads to; the +zstd codecs deliver their
      // precision's tensors bit for bit (checked), so they answer the same.
      std::map<partition::Codec, std::int64_t> top1{{partition::Codec::fp32, reference}};
      for (partition::Codec base : {partition::Codec::fp16, partition::Codec::int8}) {
        top1[base] = first_output(big.run_cloud(cut, decoded[base])).argmax().item<std::int64_t>();
      }
      for (partition::Codec codec : partition::k_codecs) {
        Acc& a = acc[codec];
        const partition::Codec base = partition::precision_of(codec);
        if (codec != base) {
          for (NodeId id : crossing) a.mismatched += !at::equal(decoded[codec].at(id), decoded[base].at(id));
        }
        a.changed += top1[base] != reference;
        a.correct += top1[base] == logits.labels[i];
      }
    }
    for (partition::Codec codec : partition::k_codecs) {
      const Acc& a = acc[codec];
      if (a.mismatched > 0) {
        throw std::runtime_error(fmt::format("{} at {}: {} tensors differ from {} after decoding: zstd is not lossless?",
                                             partition::to_string(codec), names, a.mismatched,
                                             partition::to_string(partition::precision_of(codec))));
      }
      CodecCut row;
      row.codec = codec;
      row.split = cut.computed_on_edge();
      row.node = names;
      row.samples = n;
      row.raw_bytes = a.raw / static_cast<double>(n);
      row.wire_bytes = a.wire / static_cast<double>(n);
      row.top1_change = 100.0 * static_cast<double>(a.changed) / static_cast<double>(n);
      row.accuracy = 100.0 * static_cast<double>(a.correct) / static_cast<double>(n);
      row.encode_ms = median(a.encode);
      row.decode_ms = median(a.decode);
      table.push_back(row);
    }
  }
  return table;
}

partition::CodecPrices measured_prices(const std::vector<CodecCut>& table) {
  partition::CodecPrices prices = partition::free_codec_prices();
  struct Sum {
    double mb = 0, encode = 0, decode = 0, wire = 0;
  };
  std::map<partition::Codec, Sum> sums;
  for (const CodecCut& r : table) {
    Sum& s = sums[r.codec];
    s.mb += r.raw_bytes / 1e6;
    s.encode += r.encode_ms;
    s.decode += r.decode_ms;
    s.wire += r.wire_bytes;
  }
  for (partition::Codec codec : partition::k_codecs) {
    const Sum& s = sums[codec];
    if (s.mb <= 0) continue;
    auto& p = prices[static_cast<std::size_t>(codec)];
    p.encode_ms_per_mb = s.encode / s.mb;
    p.decode_ms_per_mb = s.decode / s.mb;
    const partition::Codec base = partition::precision_of(codec);
    if (codec != base && sums[base].wire > 0) p.zstd_ratio = std::min(1.0, s.wire / sums[base].wire);
  }
  return prices;
}

}  // namespace tandem::bench
