#include "bench/svg_util.hpp"

#include <cmath>
#include <fstream>
#include <stdexcept>

#include <fmt/format.h>

namespace tandem::bench::svg {

std::string escape(const std::string& text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '&': out += "&amp;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

// A round axis maximum at or above `v` (1, 2 or 5 × 10^k).
double nice_ceiling(double v) {
  if (v <= 0) return 1;
  const double p = std::pow(10, std::floor(std::log10(v)));
  for (double m : {1.0, 1.2, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0}) {
    if (m * p >= v) return m * p;
  }
  return 10 * p;
}

void save(const std::filesystem::path& path, const std::string& svg) {
  std::ofstream out(path, std::ios::trunc);
  out << svg;
  if (!out) throw std::runtime_error("cannot write " + path.string());
}

// Horizontal grid lines and labels for a y axis [0, top] at (x0, y0)-(x0+w, y0+h).
std::string y_axis(double x0, double y0, double w, double h, double top, const std::string& unit) {
  std::string s;
  for (int i = 0; i <= 4; ++i) {
    const double v = top * i / 4;
    const double y = y0 + h - h * i / 4;
    s += fmt::format("<line x1=\"{:.1f}\" y1=\"{:.1f}\" x2=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"#ddd\"/>\n", x0, y, x0 + w, y);
    s += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" font-size=\"10\" text-anchor=\"end\" {}>{:g}{}</text>\n",
                     x0 - 4, y + 3, k_font, v, unit);
  }
  return s;
}

}  // namespace tandem::bench::svg
