#pragma once
// Test fixture: runs a daemon binary as a child process, collects its output,
// and waits (with a bound) for a log line announcing its port.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include <sys/types.h>

namespace tandem::test {

class DaemonProcess {
 public:
  /// Starts `exe` with `args`; stdout and stderr are collected together.
  /// Throws std::runtime_error when the process cannot be started.
  DaemonProcess(const std::string& exe, const std::vector<std::string>& args);
  /// Kills the process (SIGKILL) if it still runs and reaps it.
  ~DaemonProcess();
  DaemonProcess(const DaemonProcess&) = delete;
  DaemonProcess& operator=(const DaemonProcess&) = delete;

  /// Waits until a line matches `pattern`; returns its first capture group, or
  /// nullopt when the process exits or `timeout` passes first.
  std::optional<std::string> wait_for_line(const std::regex& pattern,
                                           std::chrono::milliseconds timeout);
  /// The port from a "listening on HOST:PORT" line, or 0 on timeout.
  std::uint16_t wait_for_port(const std::string& prefix, std::chrono::milliseconds timeout);
  /// Sends `signal`.
  void signal(int signal);
  /// Waits for the process to exit; returns its exit status, or nullopt on timeout.
  std::optional<int> wait_exit(std::chrono::milliseconds timeout);
  /// Everything the process printed so far.
  std::string output() const;
  /// The child's process id (for /proc/<pid>/status).
  pid_t pid() const noexcept { return pid_; }

 private:
  void read_loop(int fd);

  pid_t pid_ = -1;
  std::thread reader_;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<std::string> lines_;
  bool eof_ = false;
  std::optional<int> status_;
};

/// Writes a fresh random key file and returns its path.
std::string make_key_file(const std::string& name);

/// The path of program `name` on PATH or in /usr/sbin or /usr/bin; empty when absent.
std::string find_program(const std::string& name);

/// A port that was free on 127.0.0.1 a moment ago (bound to port 0, then
/// released), for programs that cannot listen on port 0 (HAProxy,
/// Prometheus): retry with another if it is taken by the time they bind.
std::uint16_t free_loopback_port();

/// Sends `command` and a newline to the UNIX stream socket at `path` (HAProxy's
/// stats socket) and returns the whole answer; empty when it cannot connect.
/// Blocks, bounded by 10 s receive and send timeouts.
std::string unix_socket_command(const std::string& path, const std::string& command);

}  // namespace tandem::test
