#pragma once
// A progress bar with ETA on stderr, for the profiler's long runs. On a
// terminal it redraws one line; otherwise it prints a line every few seconds.

#include <chrono>
#include <string>
#include <string_view>

namespace tandem::predictor {

class Progress {
 public:
  /// `total` is in arbitrary work units (the caller's estimate of cost).
  Progress(std::string title, double total, bool enabled);
  ~Progress();
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  /// Marks `work` units done and shows `label` as the current item.
  void advance(double work, std::string_view label);
  /// Ends the bar (also done by the destructor).
  void finish();

 private:
  void draw(std::string_view label);

  std::string title_;
  double total_, done_ = 0;
  bool enabled_, tty_, finished_ = false;
  std::chrono::steady_clock::time_point start_, last_draw_;
};

}  // namespace tandem::predictor
