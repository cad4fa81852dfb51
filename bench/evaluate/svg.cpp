#include "bench/evaluate/svg.hpp"

#include "bench/svg_util.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <fstream>
#include <map>
#include <stdexcept>
#include <string_view>

#include <fmt/format.h>

namespace tandem::bench {

namespace {

using svg::escape;
using svg::k_font;
using svg::nice_ceiling;
using svg::save;
using svg::y_axis;

constexpr double k_min_plot_w = 600;  // room for the titles
constexpr std::array<const char*, 4> k_part_colors{"#4c78a8", "#f58518", "#54a24b", "#bab0ac"};
constexpr std::array<const char*, 4> k_part_names{"edge", "transfer (upload + RTT + download)", "cloud",
                                                  "rest (queueing, runtime)"};
constexpr std::array<const char*, 6> k_link_colors{"#4c78a8", "#f58518", "#54a24b", "#e45756", "#72b7b2", "#b279a2"};

}  // namespace

void write_split_plot(const std::filesystem::path& path, const std::vector<const PairResult*>& pairs) {
  if (pairs.empty()) return;
  std::size_t bars = 0;
  for (const PairResult* p : pairs) bars = std::max(bars, p->candidates.size());
  const double bar_w = 14, left = 70, right = 20, plot_h = 200, label_h = 110, title_h = 40;
  const double plot_w = std::max(k_min_plot_w, static_cast<double>(bars) * bar_w);
  const double panel_h = title_h + plot_h + label_h;
  const double width = left + plot_w + right;
  const double height = 50 + panel_h * static_cast<double>(pairs.size());

  std::string s = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{:.0f}\" height=\"{:.0f}\" viewBox=\"0 0 {:.0f} {:.0f}\">\n"
      "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n",
      width, height, width, height);
  s += fmt::format("<text x=\"{:.0f}\" y=\"20\" font-size=\"15\" {}>{}: latency per candidate cut "
                   "(median; P planner, O oracle, × not run)</text>\n",
                   left, k_font, escape(pairs.front()->model));
  double x = left;
  for (std::size_t i = 0; i < k_part_names.size(); ++i) {
    s += fmt::format("<rect x=\"{:.0f}\" y=\"30\" width=\"10\" height=\"10\" fill=\"{}\"/>"
                     "<text x=\"{:.0f}\" y=\"39\" font-size=\"10\" {}>{}</text>\n",
                     x, k_part_colors[i], x + 14, k_font, k_part_names[i]);
    x += 30 + 6 * std::string_view(k_part_names[i]).size();
  }

  for (std::size_t pi = 0; pi < pairs.size(); ++pi) {
    const PairResult& r = *pairs[pi];
    const double y0 = 50 + panel_h * static_cast<double>(pi) + title_h;
    double top = 0;
    for (const auto& m : r.candidates) {
      if (m.measured()) top = std::max(top, m.measured_ms);
    }
    top = nice_ceiling(top);
    s += fmt::format("<text x=\"{:.0f}\" y=\"{:.0f}\" font-size=\"12\" {}>uplink {:g} mbit, RTT {:g} ms — "
                     "planner {:.1f} ms, oracle {:.1f} ms, regret {:.1f}%</text>\n",
                     left, y0 - 12, k_font, r.link.mbit, r.link.rtt_ms(), r.planner_ms, r.oracle_ms, 100 * r.regret);
    s += y_axis(left, y0, plot_w, plot_h, top, "");
    s += fmt::format("<text x=\"14\" y=\"{:.0f}\" font-size=\"10\" transform=\"rotate(-90 14 {:.0f})\" "
                     "text-anchor=\"middle\" {}>ms</text>\n",
                     y0 + plot_h / 2, y0 + plot_h / 2, k_font);
    for (std::size_t i = 0; i < r.candidates.size(); ++i) {
      const Measurement& m = r.candidates[i];
      const double x = left + static_cast<double>(i) * bar_w + 2;
      const double w = bar_w - 4;
      const double base = y0 + plot_h;
      if (m.measured()) {
        const double rest = std::max(0.0, m.measured_ms - m.edge_ms - m.transfer_ms - m.cloud_ms);
        const std::array<double, 4> parts{m.edge_ms, m.transfer_ms, m.cloud_ms, rest};
        double y = base;
        for (std::size_t k = 0; k < parts.size(); ++k) {
          const double h = plot_h * std::min(parts[k], top) / top;
          const double clipped = std::min(h, y - y0);
          if (clipped <= 0) continue;
          y -= clipped;
          s += fmt::format("<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\" fill=\"{}\">"
                           "<title>{}: {} {:.1f} ms (total {:.1f} ms)</title></rect>\n",
                           x, y, w, clipped, k_part_colors[k], escape(m.candidate.label), k_part_names[k],
                           parts[k], m.measured_ms);
        }
      } else {
        s += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" font-size=\"10\" text-anchor=\"middle\" fill=\"#999\" {}>"
                         "×<title>{}: not run, the transfer alone takes ≥ {:.0f} ms</title></text>\n",
                         x + w / 2, base - 3, k_font, escape(m.candidate.label), m.lower_bound_ms);
      }
      std::string mark;
      if (static_cast<int>(i) == r.planner_index) mark += "P";
      if (static_cast<int>(i) == r.oracle_index) mark += "O";
      if (!mark.empty()) {
        const double bar_top = m.measured() ? base - plot_h * std::min(m.measured_ms, top) / top : base - 12;
        s += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" font-size=\"10\" font-weight=\"bold\" "
                         "text-anchor=\"middle\" {}>{}</text>\n",
                         x + w / 2, std::max(y0 + 8, bar_top - 3), k_font, mark);
      }
      const double ly = base + 8;
      s += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" font-size=\"8\" text-anchor=\"end\" "
                       "transform=\"rotate(-60 {:.1f} {:.1f})\" {}>{}</text>\n",
                       x + w / 2, ly, x + w / 2, ly, k_font, escape(m.candidate.label));
    }
  }
  s += "</svg>\n";
  save(path, s);
}

void write_regret_plot(const std::filesystem::path& path, const std::vector<PairResult>& pairs) {
  std::vector<std::string> models;
  std::vector<double> links;
  for (const auto& p : pairs) {
    if (std::find(models.begin(), models.end(), p.model) == models.end()) models.push_back(p.model);
    if (std::find(links.begin(), links.end(), p.link.mbit) == links.end()) links.push_back(p.link.mbit);
  }
  std::sort(links.begin(), links.end());
  const double left = 60, right = 20, plot_h = 240, top_margin = 60, bottom = 60;
  const double bar_w = 14, group_gap = 24;
  const double group_w = bar_w * static_cast<double>(links.size()) + group_gap;
  const double plot_w = std::max(k_min_plot_w, group_w * static_cast<double>(models.size()));
  const double width = left + plot_w + right, height = top_margin + plot_h + bottom;
  double top = 0.12;
  for (const auto& p : pairs) top = std::max(top, p.regret);
  top = nice_ceiling(top * 100) / 100;

  std::string s = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{:.0f}\" height=\"{:.0f}\" viewBox=\"0 0 {:.0f} {:.0f}\">\n"
      "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
      "<text x=\"{:.0f}\" y=\"20\" font-size=\"15\" {}>Planner regret (measured / oracle − 1) per model × uplink</text>\n",
      width, height, width, height, left, k_font);
  for (std::size_t i = 0; i < links.size(); ++i) {
    const double x = left + static_cast<double>(i) * 90;
    s += fmt::format("<rect x=\"{:.0f}\" y=\"30\" width=\"10\" height=\"10\" fill=\"{}\"/>"
                     "<text x=\"{:.0f}\" y=\"39\" font-size=\"10\" {}>{:g} mbit</text>\n",
                     x, k_link_colors[i % k_link_colors.size()], x + 14, k_font, links[i]);
  }
  const double y0 = top_margin;
  std::string axis;
  for (int i = 0; i <= 4; ++i) {
    const double v = top * i / 4;
    const double y = y0 + plot_h - plot_h * i / 4;
    axis += fmt::format("<line x1=\"{:.1f}\" y1=\"{:.1f}\" x2=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"#ddd\"/>\n"
                        "<text x=\"{:.1f}\" y=\"{:.1f}\" font-size=\"10\" text-anchor=\"end\" {}>{:g}%</text>\n",
                        left, y, left + plot_w, y, left - 4, y + 3, k_font, v * 100);
  }
  s += axis;
  for (double goal : {0.03, 0.10}) {
    const double y = y0 + plot_h - plot_h * goal / top;
    s += fmt::format("<line x1=\"{:.1f}\" y1=\"{:.1f}\" x2=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"#e45756\" "
                     "stroke-dasharray=\"4 3\"/><text x=\"{:.1f}\" y=\"{:.1f}\" font-size=\"9\" fill=\"#e45756\" "
                     "text-anchor=\"end\" {}>{:g}%</text>\n",
                     left, y, left + plot_w, y, left + plot_w, y - 2, k_font, goal * 100);
  }
  for (std::size_t mi = 0; mi < models.size(); ++mi) {
    const double gx = left + group_gap / 2 + group_w * static_cast<double>(mi);
    for (const auto& p : pairs) {
      if (p.model != models[mi]) continue;
      const auto li = static_cast<std::size_t>(std::find(links.begin(), links.end(), p.link.mbit) - links.begin());
      const double x = gx + bar_w * static_cast<double>(li);
      const double h = std::max(1.0, plot_h * std::min(p.regret, top) / top);
      s += fmt::format("<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\" fill=\"{}\">"
                       "<title>{} @ {:g} mbit: regret {:.2f}%</title></rect>\n",
                       x, y0 + plot_h - h, bar_w - 2, h, k_link_colors[li % k_link_colors.size()],
                       escape(p.model), p.link.mbit, 100 * p.regret);
      s += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" font-size=\"7\" text-anchor=\"middle\" {}>{:.1f}</text>\n",
                       x + (bar_w - 2) / 2, y0 + plot_h - h - 2, k_font, 100 * p.regret);
    }
    s += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" font-size=\"11\" text-anchor=\"middle\" {}>{}</text>\n",
                     gx + bar_w * static_cast<double>(links.size()) / 2, y0 + plot_h + 16, k_font, escape(models[mi]));
  }
  s += "</svg>\n";
  save(path, s);
}

}  // namespace tandem::bench
