#include "predictor/progress.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstdio>

#include <fmt/format.h>

namespace tandem::predictor {
namespace {

using Clock = std::chrono::steady_clock;
constexpr int k_bar_width = 30;
constexpr auto k_tty_interval = std::chrono::milliseconds(100);
constexpr auto k_log_interval = std::chrono::seconds(10);

std::string duration_text(double seconds) {
  const auto s = static_cast<long>(std::max(0.0, seconds) + 0.5);
  return s >= 60 ? fmt::format("{}m{:02}s", s / 60, s % 60) : fmt::format("{}s", s);
}

}  // namespace

Progress::Progress(std::string title, double total, bool enabled)
    : title_(std::move(title)),
      total_(std::max(total, 1e-9)),
      enabled_(enabled),
      tty_(isatty(STDERR_FILENO) != 0),
      start_(Clock::now()),
      last_draw_(start_) {}

Progress::~Progress() { finish(); }

void Progress::advance(double work, std::string_view label) {
  done_ = std::min(total_, done_ + work);
  if (!enabled_) return;
  const auto now = Clock::now();
  if (now - last_draw_ < (tty_ ? k_tty_interval : k_log_interval) && done_ < total_) return;
  last_draw_ = now;
  draw(label);
}

void Progress::draw(std::string_view label) {
  const double frac = done_ / total_;
  const double elapsed = std::chrono::duration<double>(Clock::now() - start_).count();
  const double eta = frac > 0 ? elapsed * (1 - frac) / frac : 0;
  const int filled = static_cast<int>(frac * k_bar_width);
  const std::string bar = std::string(static_cast<std::size_t>(filled), '#') +
                          std::string(static_cast<std::size_t>(k_bar_width - filled), '.');
  const std::string line = fmt::format("{} [{}] {:3.0f}% {} elapsed, ETA {}  {}", title_, bar,
                                       100 * frac, duration_text(elapsed), duration_text(eta),
                                       label.substr(0, 40));
  if (tty_) {
    fmt::print(stderr, "\r{:<110}", line);
  } else {
    fmt::print(stderr, "{}\n", line);
  }
  std::fflush(stderr);
}

void Progress::finish() {
  if (finished_ || !enabled_) return;
  finished_ = true;
  const double elapsed = std::chrono::duration<double>(Clock::now() - start_).count();
  if (tty_) fmt::print(stderr, "\r{:<110}\r", "");
  fmt::print(stderr, "{}: done in {}\n", title_, duration_text(elapsed));
}

}  // namespace tandem::predictor
