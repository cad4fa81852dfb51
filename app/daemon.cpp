#include "app/daemon.hpp"

#include <algorithm>
#include <csignal>
#include <ctime>
#include <stdexcept>

#include <fmt/format.h>

namespace tandem::app {
namespace {

sigset_t shutdown_set() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  return set;
}

}  // namespace

ShutdownSignals::ShutdownSignals() {
  const sigset_t set = shutdown_set();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

std::string ShutdownSignals::wait(const std::function<bool()>& should_stop) const {
  for (;;) {
    if (auto why = wait_for(std::chrono::hours(1), should_stop)) return *why;
  }
}

std::optional<std::string> ShutdownSignals::wait_for(std::chrono::milliseconds timeout,
                                                     const std::function<bool()>& should_stop) const {
  const sigset_t set = shutdown_set();
  constexpr auto k_poll = std::chrono::milliseconds(100);
  const auto until = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    const auto left = until - std::chrono::steady_clock::now();
    if (left <= std::chrono::steady_clock::duration::zero()) return std::nullopt;
    const auto step = std::min<std::chrono::nanoseconds>(k_poll, left);
    const timespec poll{0, static_cast<long>(step.count())};
    const int sig = sigtimedwait(&set, nullptr, &poll);
    if (sig == SIGINT) return "SIGINT";
    if (sig == SIGTERM) return "SIGTERM";
    if (should_stop && should_stop()) return "stop request";
  }
}

net::AuthKey load_key_file(const std::filesystem::path& path) {
  auto key = net::AuthKey::from_file(path);
  if (!key) {
    throw std::runtime_error(fmt::format(
        "{} (make one with: head -c 32 /dev/urandom > {} && chmod 600 {})", key.error().message,
        path.string(), path.string()));
  }
  return std::move(key.value());
}

}  // namespace tandem::app
