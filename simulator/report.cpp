#include "simulator/report.hpp"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "app/svg.hpp"

namespace tandem::sim {
namespace {

using nlohmann::json;
using app::svg::k_font;

json to_json(const Percentiles& p) {
  return {{"p50", p.p50}, {"p95", p.p95}, {"p99", p.p99}, {"mean", p.mean}, {"max", p.max}};
}

// A polyline through (x, y) points already in plot coordinates.
std::string polyline(const std::vector<std::pair<double, double>>& points, const char* color) {
  std::string s = fmt::format("<polyline fill=\"none\" stroke=\"{}\" stroke-width=\"1.5\" points=\"", color);
  for (const auto& [x, y] : points) s += fmt::format("{:.1f},{:.1f} ", x, y);
  return s + "\"/>\n";
}

std::string x_label(double x, double y, const std::string& text) {
  return fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" font-size=\"10\" text-anchor=\"middle\" {}>{}</text>\n", x, y,
                     k_font, app::svg::escape(text));
}

}  // namespace

json to_json(const Scenario& scenario, const SimResult& r) {
  std::map<std::uint32_t, std::vector<double>> per_model;
  for (const auto& t : r.tasks) {
    if (t.done_s >= 0) per_model[t.model].push_back(t.latency_ms());
  }
  json models = json::object();
  for (auto& [m, v] : per_model) {
    const std::size_t n = v.size();
    models[scenario.models[m]] = {{"completed", n}, {"latency_ms", to_json(percentiles(std::move(v)))}};
  }
  json clouds = json::array();
  for (std::size_t i = 0; i < r.clouds.size(); ++i) {
    const CloudSummary& c = r.clouds[i];
    clouds.push_back({{"cloud", i + 1},
                      {"requests", c.requests},
                      {"refused", c.refused},
                      {"failed", c.failed},
                      {"utilisation", c.utilisation},
                      {"max_queue", c.max_queue},
                      {"max_connections", c.max_connections}});
  }
  const double done = static_cast<double>(std::max<std::uint64_t>(r.completed, 1));
  return {{"scenario", to_json(scenario)},
          {"tasks", r.tasks.size()},
          {"completed", r.completed},
          {"lost", r.lost},
          {"fallbacks", r.fallbacks},
          {"placements",
           {{"edge_only", r.edge_only / done}, {"split", r.split / done}, {"cloud_only", r.cloud_only / done}}},
          {"latency_ms", to_json(r.latency_ms)},
          {"makespan_s", r.makespan_s},
          {"throughput_per_s", r.throughput_per_s},
          {"edge_stretch_p50", r.edge_stretch_p50},
          {"cloud_stretch_p50", r.cloud_stretch_p50},
          {"host_cores_daemons", r.host_cores_daemons},
          {"host_cores_edges", r.host_cores_edges},
          {"host_cores_clouds", r.host_cores_clouds},
          {"models", models},
          {"clouds", clouds},
          {"events", r.events}};
}

void write_svg(const std::filesystem::path& path, const Scenario& scenario, const SimResult& r) {
  constexpr double left = 70, right = 30, plot_w = 640, plot_h = 220, gap = 80, top_margin = 60;
  const double width = left + plot_w + right;
  const double height = top_margin + 2 * plot_h + gap + 50;
  std::string s = app::svg::open(width, height);
  s += fmt::format("<text x=\"{:.0f}\" y=\"22\" font-size=\"15\" {}>tandem simulate: {} edges, {} clouds, {:g} tasks/s "
                   "per edge, planning {}</text>\n",
                   left, k_font, scenario.edges, scenario.clouds, scenario.arrivals.rate_per_s,
                   scenario.planning == Planning::automatic ? "auto" : (scenario.planning == Planning::cloud_only ? "cloud-only" : "edge-only"));
  s += fmt::format("<text x=\"{:.0f}\" y=\"40\" font-size=\"11\" {}>{} tasks, {} lost, {} fell back; p50 {:.1f} ms, "
                   "p95 {:.1f} ms, p99 {:.1f} ms; {:.1f} tasks/s</text>\n",
                   left, k_font, r.tasks.size(), r.lost, r.fallbacks, r.latency_ms.p50, r.latency_ms.p95, r.latency_ms.p99,
                   r.throughput_per_s);

  // Panel 1: the latency CDF up to the 99.9th percentile.
  std::vector<double> lat;
  for (const auto& t : r.tasks) {
    if (t.done_s >= 0) lat.push_back(t.latency_ms());
  }
  std::sort(lat.begin(), lat.end());
  const double y1 = top_margin + 20;
  const double x_top = app::svg::nice_ceiling(lat.empty() ? 1 : lat[static_cast<std::size_t>(0.999 * (lat.size() - 1))]);
  s += fmt::format("<text x=\"{:.0f}\" y=\"{:.0f}\" font-size=\"12\" {}>Latency CDF (submission to result)</text>\n", left,
                   y1 - 8, k_font);
  for (int i = 0; i <= 4; ++i) {
    const double y = y1 + plot_h - plot_h * i / 4;
    s += fmt::format("<line x1=\"{:.1f}\" y1=\"{:.1f}\" x2=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"#ddd\"/>\n", left, y, left + plot_w, y);
    s += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" font-size=\"10\" text-anchor=\"end\" {}>{}%</text>\n", left - 4, y + 3,
                     k_font, 25 * i);
  }
  for (int i = 0; i <= 5; ++i) s += x_label(left + plot_w * i / 5, y1 + plot_h + 14, fmt::format("{:g} ms", x_top * i / 5));
  std::vector<std::pair<double, double>> cdf;
  constexpr std::size_t k_points = 400;
  for (std::size_t i = 0; i < k_points && !lat.empty(); ++i) {
    const double q = static_cast<double>(i) / (k_points - 1);
    const double v = lat[static_cast<std::size_t>(q * static_cast<double>(lat.size() - 1))];
    cdf.emplace_back(left + plot_w * std::min(v, x_top) / x_top, y1 + plot_h - plot_h * q);
  }
  s += polyline(cdf, "#4c78a8");

  // Panel 2: p50 and p95 of the tasks arriving in each second.
  const double y2 = y1 + plot_h + gap;
  std::map<long, std::vector<double>> per_second;
  for (const auto& t : r.tasks) {
    if (t.done_s >= 0) per_second[static_cast<long>(std::floor(t.arrival_s))].push_back(t.latency_ms());
  }
  std::vector<std::pair<double, double>> p50, p95;
  double y_top = 1;
  std::vector<std::tuple<double, double, double>> rows;
  for (auto& [sec, v] : per_second) {
    const Percentiles p = percentiles(std::move(v));
    rows.emplace_back(static_cast<double>(sec), p.p50, p.p95);
    y_top = std::max(y_top, p.p95);
  }
  y_top = app::svg::nice_ceiling(y_top);
  const double x_span = std::max(1.0, scenario.duration_s);
  for (const auto& [sec, a, b] : rows) {
    const double x = left + plot_w * std::min(sec + 0.5, x_span) / x_span;
    p50.emplace_back(x, y2 + plot_h - plot_h * a / y_top);
    p95.emplace_back(x, y2 + plot_h - plot_h * b / y_top);
  }
  s += fmt::format("<text x=\"{:.0f}\" y=\"{:.0f}\" font-size=\"12\" {}>Latency by second of arrival: "
                   "<tspan fill=\"#4c78a8\">p50</tspan>, <tspan fill=\"#e45756\">p95</tspan> (failures in grey)</text>\n",
                   left, y2 - 8, k_font);
  s += app::svg::y_axis(left, y2, plot_w, plot_h, y_top, " ms");
  for (int i = 0; i <= 5; ++i) s += x_label(left + plot_w * i / 5, y2 + plot_h + 14, fmt::format("{:g} s", x_span * i / 5));
  for (const Failure& f : scenario.failures) {
    const double x = left + plot_w * std::min(f.at_s, x_span) / x_span;
    s += fmt::format("<line x1=\"{:.1f}\" y1=\"{:.1f}\" x2=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"#999\" stroke-dasharray=\"4 3\"/>\n",
                     x, y2, x, y2 + plot_h);
    s += x_label(x, y2 - 2 + 0, fmt::format("{} {}", f.action == Failure::Action::kill ? "kill" : "drain", f.cloud + 1));
  }
  s += polyline(p50, "#4c78a8");
  s += polyline(p95, "#e45756");
  s += "</svg>\n";
  app::svg::save(path, s);
}

void write_tasks_csv(const std::filesystem::path& path, const Scenario& scenario, const SimResult& result) {
  std::ofstream out(path, std::ios::trunc);
  out << "edge,model,cloud,arrival_s,start_s,done_s,latency_ms,placement,fallback,heavy,"
         "predicted_edge_ms,edge_ms,predicted_cloud_ms,cloud_ms\n";
  for (const auto& t : result.tasks) {
    out << fmt::format("{},{},{},{:.6f},{:.6f},{:.6f},{:.3f},{},{},{},{:.3f},{:.3f},{:.3f},{:.3f}\n", t.edge,
                       scenario.models[t.model], t.cloud, t.arrival_s, t.start_s, t.done_s,
                       t.done_s >= 0 ? t.latency_ms() : -1.0, partition::to_string(t.placement), t.fallback ? 1 : 0,
                       t.heavy ? 1 : 0, t.predicted_edge_ms, t.edge_ms, t.predicted_cloud_ms, t.cloud_ms);
  }
  if (!out) throw std::runtime_error("cannot write " + path.string());
}

}  // namespace tandem::sim
