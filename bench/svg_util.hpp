#pragma once
// Pieces every SVG plot of the benchmarks uses (the plots are written as
// text: no plotting library is packaged for us).

#include <filesystem>
#include <string>

namespace tandem::bench::svg {

inline constexpr const char* k_font = "font-family=\"sans-serif\"";

/// `text` with the characters XML reserves escaped.
std::string escape(const std::string& text);
/// A round axis maximum at or above `v` (1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6 or 8 × 10^k).
double nice_ceiling(double v);
/// Writes `svg` to `path`; throws std::runtime_error when it cannot.
void save(const std::filesystem::path& path, const std::string& svg);
/// Horizontal grid lines and labels for a y axis [0, top] at (x0, y0)-(x0+w, y0+h).
std::string y_axis(double x0, double y0, double w, double h, double top, const std::string& unit);

}  // namespace tandem::bench::svg
