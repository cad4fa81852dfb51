#pragma once
// The few pieces every SVG plot of ours shares (bench/evaluate's plots, the
// simulator's): plots are written as text, no plotting library is packaged
// for us.

#include <filesystem>
#include <string>

namespace tandem::app::svg {

/// `text` with <, >, & and " escaped for SVG text and attributes.
std::string escape(const std::string& text);

/// A round axis maximum at or above `v` (1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8 × 10^k); 1 for v <= 0.
double nice_ceiling(double v);

/// Horizontal grid lines and labels for a y axis [0, top] drawn in the box
/// (x0, y0)-(x0 + w, y0 + h), labels suffixed by `unit`.
std::string y_axis(double x0, double y0, double w, double h, double top, const std::string& unit);

/// The opening <svg> element with a white background.
std::string open(double width, double height);

/// Writes `svg` to `path`. Throws std::runtime_error naming the file when it cannot.
void save(const std::filesystem::path& path, const std::string& svg);

/// The font attribute our plots use.
inline constexpr const char* k_font = "font-family=\"sans-serif\"";

}  // namespace tandem::app::svg
