#include "bench/joint/report.hpp"

#include <algorithm>
#include <array>
#include <fstream>
#include <map>
#include <stdexcept>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "app/svg.hpp"

namespace tandem::bench {
namespace {

namespace fs = std::filesystem;
using app::svg::escape;
using app::svg::k_font;

constexpr std::array<const char*, 6> k_colors{"#4c78a8", "#f58518", "#54a24b", "#e45756", "#72b7b2", "#b279a2"};

std::ofstream open_out(const fs::path& path) {
  std::ofstream out(path, std::ios::trunc);
  if (!out) throw std::runtime_error("cannot write " + path.string());
  return out;
}

// One CSV field (RFC 4180): quoted when it holds a comma, quote or line break, quotes doubled.
std::string csv(const std::string& field) {
  if (field.find_first_of(",\"\n") == std::string::npos) return field;
  std::string out = "\"";
  for (char c : field) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

std::string miner_name(control::MinerKind k) { return std::string(control::to_string(k)); }

// What the sweep's threshold means for each miner.
std::string knob(control::MinerKind k) {
  switch (k) {
    case control::MinerKind::confidence: return "max-softmax threshold";
    case control::MinerKind::entropy: return "normalised-entropy threshold";
    case control::MinerKind::ibt: return "box threshold (threshold_img 0.9)";
  }
  return "";
}

// Accuracy against edge share, one line per miner, the goal drawn.
void write_sweep_plot(const fs::path& path, const JointResults& r) {
  const double left = 70, top = 50, w = 560, h = 320, right = 180, bottom = 60;
  double y_lo = 100, y_hi = 0;
  for (const auto& p : r.sweep) {
    y_lo = std::min(y_lo, p.accuracy);
    y_hi = std::max(y_hi, p.accuracy);
  }
  y_lo = std::min({y_lo, r.little_accuracy, r.big_accuracy - r.goal_accuracy_gap}) - 0.5;
  y_hi = std::max(y_hi, r.big_accuracy) + 0.5;
  y_lo = std::floor(y_lo);
  y_hi = std::ceil(y_hi);
  const auto x_of = [&](double share) { return left + w * share / 100.0; };
  const auto y_of = [&](double acc) { return top + h - h * (acc - y_lo) / (y_hi - y_lo); };
  std::string s = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0:.0f}\" height=\"{1:.0f}\" viewBox=\"0 0 {0:.0f} {1:.0f}\">\n"
      "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
      "<text x=\"{2:.0f}\" y=\"24\" font-size=\"15\" {3}>Joint inference on the Fashion-MNIST test set: accuracy vs edge share</text>\n",
      left + w + right, top + h + bottom, left, k_font);
  for (int i = 0; i <= 5; ++i) {
    const double share = 20.0 * i;
    s += fmt::format("<line x1=\"{0:.1f}\" y1=\"{1:.1f}\" x2=\"{0:.1f}\" y2=\"{2:.1f}\" stroke=\"#eee\"/>\n", x_of(share), top, top + h);
    s += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" font-size=\"10\" text-anchor=\"middle\" {}>{:g}%</text>\n", x_of(share),
                     top + h + 14, k_font, share);
  }
  for (double acc = y_lo; acc <= y_hi + 1e-9; acc += 1) {
    s += fmt::format("<line x1=\"{:.1f}\" y1=\"{:.1f}\" x2=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"#eee\"/>\n", left, y_of(acc), left + w, y_of(acc));
    s += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" font-size=\"10\" text-anchor=\"end\" {}>{:g}%</text>\n", left - 4,
                     y_of(acc) + 3, k_font, acc);
  }
  s += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" font-size=\"12\" text-anchor=\"middle\" {}>samples answered on the edge (little model)</text>\n",
                   left + w / 2, top + h + 36, k_font);
  s += fmt::format("<text transform=\"translate(16 {:.1f}) rotate(-90)\" font-size=\"12\" text-anchor=\"middle\" {}>top-1 accuracy</text>\n",
                   top + h / 2, k_font);
  // The goal region: accuracy within the gap of big-only, edge share at least the goal.
  const double goal_y = y_of(r.big_accuracy - r.goal_accuracy_gap);
  s += fmt::format("<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\" fill=\"#54a24b\" fill-opacity=\"0.08\"/>\n",
                   x_of(r.goal_edge_share), top, x_of(100) - x_of(r.goal_edge_share), goal_y - top);
  const auto hline = [&](double acc, const std::string& label, const char* dash) {
    s += fmt::format("<line x1=\"{:.1f}\" y1=\"{:.1f}\" x2=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"#888\" stroke-dasharray=\"{}\"/>\n",
                     left, y_of(acc), left + w, y_of(acc), dash);
    s += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" font-size=\"10\" {}>{}</text>\n", left + w + 6, y_of(acc) + 3, k_font,
                     escape(label));
  };
  hline(r.big_accuracy, fmt::format("big only {:.2f}%", r.big_accuracy), "6 3");
  hline(r.big_accuracy - r.goal_accuracy_gap, fmt::format("goal: big − {:g}", r.goal_accuracy_gap), "2 3");
  hline(r.little_accuracy, fmt::format("little only {:.2f}%", r.little_accuracy), "6 3");
  s += fmt::format("<line x1=\"{0:.1f}\" y1=\"{1:.1f}\" x2=\"{0:.1f}\" y2=\"{2:.1f}\" stroke=\"#888\" stroke-dasharray=\"2 3\"/>\n",
                   x_of(r.goal_edge_share), top, top + h);
  std::size_t line = 0;
  for (control::MinerKind k : {control::MinerKind::confidence, control::MinerKind::entropy, control::MinerKind::ibt}) {
    std::vector<SweepPoint> pts;
    for (const auto& p : r.sweep) {
      if (p.miner == k) pts.push_back(p);
    }
    std::sort(pts.begin(), pts.end(), [](const SweepPoint& a, const SweepPoint& b) { return a.edge_share < b.edge_share; });
    const char* color = k_colors[line % k_colors.size()];
    std::string poly;
    for (const auto& p : pts) poly += fmt::format("{:.1f},{:.1f} ", x_of(p.edge_share), y_of(p.accuracy));
    s += fmt::format("<polyline points=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"1.5\"/>\n", poly, color);
    for (const auto& p : pts) {
      s += fmt::format("<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"2.5\" fill=\"{}\"><title>{} {:g}: {:.2f}% at {:.1f}% on the edge</title></circle>\n",
                       x_of(p.edge_share), y_of(p.accuracy), color, miner_name(k), p.threshold, p.accuracy, p.edge_share);
    }
    for (const auto& c : r.chosen) {
      if (c.miner != k) continue;
      s += fmt::format("<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"5\" fill=\"none\" stroke=\"{}\" stroke-width=\"2\"/>\n",
                       x_of(c.edge_share), y_of(c.accuracy), color);
    }
    const double ly = top + 14 + 16.0 * static_cast<double>(line);
    s += fmt::format("<line x1=\"{:.1f}\" y1=\"{:.1f}\" x2=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"{}\" stroke-width=\"2\"/>\n", left + 10,
                     ly, left + 30, ly, color);
    s += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" font-size=\"11\" {}>{} ({})</text>\n", left + 36, ly + 4, k_font,
                     miner_name(k), escape(knob(k)));
    ++line;
  }
  s += "</svg>\n";
  app::svg::save(path, s);
}

// Bytes on the wire per codec at each cut (grouped bars).
void write_codec_plot(const fs::path& path, const JointResults& r) {
  std::vector<std::size_t> splits;
  double top_bytes = 0;
  for (const auto& c : r.codecs) {
    if (std::find(splits.begin(), splits.end(), c.split) == splits.end()) splits.push_back(c.split);
    top_bytes = std::max(top_bytes, c.wire_bytes);
  }
  if (splits.empty()) return;
  top_bytes = app::svg::nice_ceiling(top_bytes / 1e3);
  const double left = 70, top = 50, group = 6 * 9 + 12, h = 260, bottom = 130;
  const double w = std::max(500.0, group * static_cast<double>(splits.size()));
  std::string s = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0:.0f}\" height=\"{1:.0f}\" viewBox=\"0 0 {0:.0f} {1:.0f}\">\n"
      "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
      "<text x=\"{2:.0f}\" y=\"24\" font-size=\"15\" {3}>{4}: bytes on the wire per sample at each cut, per codec</text>\n",
      left + w + 20, top + h + bottom, left, k_font, escape(r.big_model));
  s += app::svg::y_axis(left, top, w, h, top_bytes, " KB");
  for (std::size_t g = 0; g < splits.size(); ++g) {
    const double x0 = left + group * static_cast<double>(g) + 6;
    std::string label;
    for (std::size_t c = 0; c < partition::k_codec_count; ++c) {
      for (const auto& row : r.codecs) {
        if (row.split != splits[g] || row.codec != partition::k_codecs[c]) continue;
        const double bh = h * row.wire_bytes / 1e3 / top_bytes;
        s += fmt::format("<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"8\" height=\"{:.1f}\" fill=\"{}\"><title>{} at {}: {:.0f} B, top-1 change {:.2f}%</title></rect>\n",
                         x0 + 9.0 * static_cast<double>(c), top + h - bh, bh, k_colors[c], partition::to_string(row.codec),
                         escape(row.node), row.wire_bytes, row.top1_change);
        label = row.node;
      }
    }
    s += fmt::format("<text transform=\"translate({:.1f} {:.1f}) rotate(60)\" font-size=\"9\" {}>{} {}</text>\n", x0 + 20,
                     top + h + 8, k_font, splits[g], escape(label.substr(0, 24)));
  }
  for (std::size_t c = 0; c < partition::k_codec_count; ++c) {
    const double lx = left + 10 + 90.0 * static_cast<double>(c);
    s += fmt::format("<rect x=\"{:.1f}\" y=\"32\" width=\"10\" height=\"10\" fill=\"{}\"/><text x=\"{:.1f}\" y=\"41\" font-size=\"11\" {}>{}</text>\n",
                     lx, k_colors[c], lx + 14, k_font, partition::to_string(partition::k_codecs[c]));
  }
  s += "</svg>\n";
  app::svg::save(path, s);
}

std::string run_row(const OnlineRun& r) {
  return fmt::format("| {} | {} | {} | {:.2f}% | {:.1f}% | {:.2f} | {:.2f} | {:.0f} | {} | {} |", r.name, r.link, r.samples,
                     r.accuracy, r.edge_share, r.p50_ms, r.p95_ms, r.bytes_per_sample, r.failures, r.cuts);
}

}  // namespace

void write_joint_results(const fs::path& dir, const JointResults& r) {
  fs::create_directories(dir / "plots");
  {
    auto out = open_out(dir / "sweep.csv");
    out << "miner,threshold,accuracy_pct,edge_share_pct\n";
    for (const auto& p : r.sweep) {
      out << fmt::format("{},{:g},{:.4f},{:.4f}\n", miner_name(p.miner), p.threshold, p.accuracy, p.edge_share);
    }
  }
  {
    auto out = open_out(dir / "codecs.csv");
    out << "codec,split,crossing,samples,raw_bytes,wire_bytes,bytes_saved_pct,top1_change_pct,accuracy_pct,encode_ms,decode_ms\n";
    for (const auto& c : r.codecs) {
      out << fmt::format("{},{},{},{},{:.1f},{:.1f},{:.2f},{:.3f},{:.3f},{:.4f},{:.4f}\n", partition::to_string(c.codec),
                         c.split, csv(c.node), c.samples, c.raw_bytes, c.wire_bytes,
                         100.0 * (1 - c.wire_bytes / std::max(1.0, c.raw_bytes)), c.top1_change, c.accuracy,
                         c.encode_ms, c.decode_ms);
    }
  }
  {
    auto out = open_out(dir / "prices.csv");
    out << "codec,encode_ms_per_mb,decode_ms_per_mb,zstd_ratio\n";
    for (partition::Codec c : partition::k_codecs) {
      const auto& p = r.prices[static_cast<std::size_t>(c)];
      out << fmt::format("{},{:.3f},{:.3f},{:.3f}\n", partition::to_string(c), p.encode_ms_per_mb, p.decode_ms_per_mb,
                         p.zstd_ratio);
    }
  }
  for (const auto& [file, runs] : {std::pair{"online.csv", &r.joint_runs}, std::pair{"codec_latency.csv", &r.codec_runs}}) {
    auto out = open_out(dir / file);
    out << "name,link,samples,failures,accuracy_pct,edge_share_pct,p50_ms,p95_ms,bytes_per_sample,wall_s,cuts,task\n";
    for (const auto& x : *runs) {
      out << fmt::format("{},{},{},{},{:.3f},{:.2f},{:.3f},{:.3f},{:.1f},{:.1f},{},{}\n", csv(x.name), csv(x.link),
                         x.samples, x.failures, x.accuracy, x.edge_share, x.p50_ms, x.p95_ms, x.bytes_per_sample,
                         x.wall_s, csv(x.cuts), csv(x.command));
    }
  }
  {
    // The worst top-1 change of each codec over the cuts measured: what an accuracy budget is checked against.
    nlohmann::json table = nlohmann::json::object();
    for (const auto& c : r.codecs) {
      auto& v = table[r.big_model][std::string(partition::to_string(c.codec))];
      v = std::max(v.is_number() ? v.get<double>() : 0.0, c.top1_change);
    }
    auto out = open_out(dir / "codec_accuracy.json");
    out << table.dump(2) << "\n";
  }
  write_sweep_plot(dir / "plots" / "sweep.svg", r);
  write_codec_plot(dir / "plots" / "codec_bytes.svg", r);

  auto md = open_out(dir / "report.md");
  md << "# Joint inference and compressed crossings on Fashion-MNIST\n\n";
  md << r.settings << "\n";
  md << "Reproduce: `" << r.command << "`\n\n";
  md << "## Models (tandem's executor, whole test set)\n\n";
  md << fmt::format("| model | test accuracy |\n|---|---:|\n| {} (edge) | {:.2f}% |\n| {} (cloud) | {:.2f}% |\n\n",
                    r.little_model, r.little_accuracy, r.big_model, r.big_accuracy);
  md << "## Joint inference: the threshold sweep (offline, on the same logits)\n\n";
  md << fmt::format("Goal: accuracy within {:g} points of big-only while at least {:g}% of samples never leave the "
                    "edge. Each miner's threshold is chosen on the even-numbered test images (the largest edge share "
                    "whose accuracy meets the goal there, else the most accurate) and judged on the odd-numbered ones, "
                    "which the choice never saw (big-only on them: {:.2f}%, so the floor is {:.2f}%). The plot and "
                    "sweep.csv are the whole test set; circles mark the chosen thresholds.\n\n",
                    r.goal_accuracy_gap, r.goal_edge_share, r.big_accuracy_held_out,
                    r.big_accuracy_held_out - r.goal_accuracy_gap);
  md << "![accuracy vs edge share](plots/sweep.svg)\n\n";
  md << "| miner | threshold | chosen on: accuracy | edge share | held out: accuracy | edge share | goal (held out) | "
        "whole test set: accuracy | edge share |\n|---|---:|---:|---:|---:|---:|---|---:|---:|\n";
  for (std::size_t i = 0; i < r.held_out.size(); ++i) {
    const SweepPoint &c = r.calibration[i], &h = r.held_out[i], &w = r.chosen[i];
    const bool met = h.accuracy >= r.big_accuracy_held_out - r.goal_accuracy_gap && h.edge_share >= r.goal_edge_share;
    md << fmt::format("| {} | {:g} | {:.2f}% | {:.1f}% | {:.2f}% | {:.1f}% | {} | {:.2f}% | {:.1f}% |\n",
                      miner_name(c.miner), c.threshold, c.accuracy, c.edge_share, h.accuracy, h.edge_share,
                      met ? "met" : "missed", w.accuracy, w.edge_share);
  }
  md << "\n";
  md << "## Through the daemons, one sample at a time\n\n";
  md << "Latency is `measured_ms`: from the start of the edge's work on a sample to its answer (the little model, the "
        "miner, and for a hard sample the big model's task: its wait in the edge queue, its edge part, transfer and "
        "cloud part). Bytes are the crossing tensors' bytes per sample, averaged over all samples.\n\n";
  md << "| run | link | samples | accuracy | edge share | p50 ms | p95 ms | bytes/sample | failed | plans (most frequent) |\n";
  md << "|---|---|---:|---:|---:|---:|---:|---:|---:|---|\n";
  for (const auto& x : r.joint_runs) md << run_row(x) << "\n";
  md << "\n## Codecs: top-1 change and bytes at each cut of " << r.big_model << "\n\n";
  md << "Top-1 change: the share of samples whose answer differs from the uncompressed model's. Bytes: one tensor record "
        "on the wire (header included). Encode and decode: medians per tensor on this machine.\n\n";
  md << "![bytes per codec](plots/codec_bytes.svg)\n\n";
  md << "| split | crossing | codec | bytes | saved | top-1 change | accuracy | encode ms | decode ms |\n";
  md << "|---:|---|---|---:|---:|---:|---:|---:|---:|\n";
  for (const auto& c : r.codecs) {
    md << fmt::format("| {} | {} | {} | {:.0f} | {:.1f}% | {:.2f}% | {:.2f}% | {:.3f} | {:.3f} |\n", c.split, c.node,
                      partition::to_string(c.codec), c.wire_bytes, 100.0 * (1 - c.wire_bytes / std::max(1.0, c.raw_bytes)),
                      c.top1_change, c.accuracy, c.encode_ms, c.decode_ms);
  }
  md << "\nMeasured prices per MB of f32 tensor (`partition::default_codec_prices` holds these minus the fp32 row, "
        "the framing every codec pays):\n\n";
  md << "| codec | encode ms/MB | decode ms/MB | zstd ratio |\n|---|---:|---:|---:|\n";
  for (partition::Codec c : partition::k_codecs) {
    const auto& p = r.prices[static_cast<std::size_t>(c)];
    md << fmt::format("| {} | {:.3f} | {:.3f} | {:.3f} |\n", partition::to_string(c), p.encode_ms_per_mb,
                      p.decode_ms_per_mb, p.zstd_ratio);
  }
  md << "\n## Codecs end to end\n\n";
  md << "The big model per codec, one sample at a time: planned (`auto`) and forced at the cut with the largest crossing "
        "tensor. Change: against fp32 on the same link and plan.\n\n";
  md << "| run | link | samples | accuracy | edge share | p50 ms | p95 ms | bytes/sample | failed | plans |\n";
  md << "|---|---|---:|---:|---:|---:|---:|---:|---:|---|\n";
  for (const auto& x : r.codec_runs) md << run_row(x) << "\n";
  md << "\nFiles: sweep.csv, codecs.csv, prices.csv, online.csv, codec_latency.csv, codec_accuracy.json (for "
        "`edge_daemon --codec-accuracy`).\n";
}

}  // namespace tandem::bench
