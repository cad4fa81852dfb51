// A daemon's model loading (app/serving.hpp) runs LibTorch on a thread of its
// own, so the caller — the daemon's main thread — is left without an OpenMP
// team, whose thread would make libgomp stop spinning at the compute
// threads' barriers.
#include <chrono>
#include <filesystem>
#include <thread>

#include <ATen/Parallel.h>
#include <gtest/gtest.h>

#include "app/serving.hpp"

namespace tandem::app {
namespace {

std::size_t live_threads() {
  std::size_t n = 0;
  for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator("/proc/self/task")) ++n;
  return n;
}

// The thread count once it has held still for 100 ms (at most 10 s): the
// loading thread's OpenMP team is released when that thread ends, but its
// detached threads finish exiting a moment after load_serving_models returns.
std::size_t settled_threads() {
  using Clock = std::chrono::steady_clock;
  const auto deadline = Clock::now() + std::chrono::seconds(10);
  std::size_t n = live_threads();
  auto still_since = Clock::now();
  while (Clock::now() - still_since < std::chrono::milliseconds(100) && Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    if (const std::size_t now = live_threads(); now != n) {
      n = now;
      still_since = Clock::now();
    }
  }
  return n;
}

TEST(Serving, LoadingStartsNoOpenMpTeamOnTheCaller) {
  const ModelSet models = load_serving_models({.names = {"resnet18"}}, 2);
  ASSERT_EQ(models.size(), 1u);
  // LibTorch's process-wide threads (its pthreadpool's) exist by now.
  const std::size_t loaded = settled_threads();
  // A two-thread run here starts this thread's OpenMP team: one more thread.
  // Had the loading run here, the team would exist already.
  at::set_num_threads(2);
  const Model& model = *models.begin()->second;
  model.run(model.make_inputs(0));
  EXPECT_GT(live_threads(), loaded) << "the calling thread had an OpenMP team before: the loading ran LibTorch here";
}

}  // namespace
}  // namespace tandem::app
