// End-to-end regression tests of the edge daemon's control port (docs/design.md
// §8, README "Control protocol"): a real edge_daemon process (--no-cloud) on
// 127.0.0.1, port 0, is fed the lines, files and connections that used to
// hurt it. After each, the daemon must still answer {"op":"status"} and
// complete a good task.

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <regex>
#include <string>
#include <vector>

#include <utility>  // before Asio (Boost 1.74)

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "control/client.hpp"
#include "daemon_process.hpp"
#include "testutil/tasks.hpp"

namespace tandem {
namespace {

using namespace std::chrono_literals;
namespace asio = boost::asio;
using test::DaemonProcess;

constexpr auto k_start_timeout = 120s;
constexpr auto k_reply_timeout = 30s;
constexpr std::int64_t k_rss_bound_kib = 1024 * 1024;  // 1 GiB
const std::string k_bin = TANDEM_BIN_DIR;
const std::string k_profiles = TANDEM_PROFILES_DIR;

// A scratch directory of this test process, removed at the end.
struct TempDir {
  std::filesystem::path path;
  explicit TempDir(const std::string& name)
      : path(std::filesystem::temp_directory_path() / (name + "_" + std::to_string(::getpid()))) {
    std::filesystem::remove_all(path);
    std::filesystem::create_directories(path);
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path, ignored);
  }
};

// A control connection at the byte level: sends exactly what it is given and
// reads raw lines, each read bounded.
class RawControl {
 public:
  explicit RawControl(std::uint16_t port) : socket_(io_) {
    socket_.connect(asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
  }

  /// Writes `bytes`; false once the daemon has closed the connection.
  bool send(const std::string& bytes) {
    boost::system::error_code ec;
    asio::write(socket_, asio::buffer(bytes), ec);
    return !ec;
  }

  /// The next line without its newline; nullopt at EOF or after `bound` without one.
  std::optional<std::string> read_line(std::chrono::milliseconds bound = k_reply_timeout) {
    const auto until = std::chrono::steady_clock::now() + bound;
    for (;;) {
      if (const auto nl = buffered_.find('\n'); nl != std::string::npos) {
        std::string line = buffered_.substr(0, nl);
        buffered_.erase(0, nl + 1);
        return line;
      }
      if (eof_) return std::nullopt;
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now());
      if (left.count() <= 0) return std::nullopt;
      pollfd pfd{socket_.native_handle(), POLLIN, 0};
      if (::poll(&pfd, 1, static_cast<int>(left.count())) <= 0) continue;
      std::array<char, 4096> chunk{};
      boost::system::error_code ec;
      const std::size_t n = socket_.read_some(asio::buffer(chunk), ec);
      if (ec) {
        eof_ = true;
        continue;
      }
      buffered_.append(chunk.data(), n);
    }
  }

  /// True when the daemon closed the connection within `bound` (lines before EOF are skipped).
  bool closed_within(std::chrono::milliseconds bound) {
    const auto until = std::chrono::steady_clock::now() + bound;
    while (!eof_ && std::chrono::steady_clock::now() < until) {
      read_line(std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now()));
    }
    return eof_;
  }

  asio::ip::tcp::socket& socket() { return socket_; }

 private:
  asio::io_context io_;
  asio::ip::tcp::socket socket_;
  std::string buffered_;
  bool eof_ = false;
};

// A reply line must be one JSON object with "ok": false and an error string.
nlohmann::json expect_error_line(const std::optional<std::string>& line, const std::string& what) {
  EXPECT_TRUE(line.has_value()) << what << ": no reply";
  if (!line) return {};
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(*line);  // strict: invalid UTF-8 in a reply would throw here
  } catch (const std::exception& e) {
    ADD_FAILURE() << what << ": the reply is not valid JSON (" << e.what() << "): " << *line;
    return {};
  }
  EXPECT_TRUE(j.is_object()) << what << ": " << *line;
  EXPECT_EQ(j.value("ok", true), false) << what << ": " << *line;
  EXPECT_TRUE(j.contains("error") && j["error"].is_string()) << what << ": " << *line;
  return j;
}

std::string error_text(const nlohmann::json& j) {
  return j.is_object() && j.contains("error") && j["error"].is_string() ? j["error"].get<std::string>() : "";
}

// VmRSS of a process in KiB, or -1 when /proc does not say.
std::int64_t rss_kib(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stoll(line.substr(6));
  }
  return -1;
}

// A tensor file header (models/weights.cpp: magic, rank, dims) with no body.
std::string tensor_header(const std::vector<std::int64_t>& dims) {
  std::string out = "TNDMTNS1";
  out += static_cast<char>(dims.size());
  for (std::int64_t d : dims) out.append(reinterpret_cast<const char*>(&d), sizeof d);
  return out;
}

// Writes `header`, then extends the file to `size` bytes without writing them (sparse).
void write_sparse_file(const std::filesystem::path& path, const std::string& header, off_t size) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  ASSERT_GE(fd, 0) << path << ": " << std::strerror(errno);
  ASSERT_EQ(::write(fd, header.data(), header.size()), static_cast<ssize_t>(header.size()));
  ASSERT_EQ(::ftruncate(fd, size), 0) << std::strerror(errno);
  ::close(fd);
}

class ControlPort : public ::testing::Test {
 protected:
  void start(const std::vector<std::string>& extra = {}) {
    std::vector<std::string> args{"--no-cloud", "--profiles", k_profiles, "--control", "127.0.0.1:0",
                                  "--threads",  "1",          "--models",  "lenet",     "--input-dir",
                                  inputs_.path.string()};
    args.insert(args.end(), extra.begin(), extra.end());
    edge_ = std::make_unique<DaemonProcess>(k_bin + "/edge_daemon", args);
    port_ = edge_->wait_for_port("control listening", k_start_timeout);
    ASSERT_NE(port_, 0) << edge_->output();
  }

  control::TaskSpec good_task(std::uint64_t id) { return testutil::make_task(id, "lenet", id); }

  // The daemon still answers a status request and completes a good task, on a new connection.
  void expect_alive() {
    control::Client client("127.0.0.1", port_, 5s, token_);
    if (!token_.empty()) {
      const auto ack = client.next(k_reply_timeout);
      ASSERT_TRUE(ack.has_value()) << edge_->output();
      const auto* reply = std::get_if<control::ErrorReply>(&*ack);
      ASSERT_TRUE(reply != nullptr && reply->ok) << "the token was not accepted";
    }
    const auto status = client.status(k_reply_timeout);
    ASSERT_TRUE(status.has_value()) << "no status reply\n" << edge_->output();
    client.submit(good_task(4242));
    const auto reply = client.next(k_reply_timeout);
    ASSERT_TRUE(reply.has_value()) << "no result\n" << edge_->output();
    const auto* result = std::get_if<control::TaskResult>(&*reply);
    ASSERT_NE(result, nullptr) << "expected a task result";
    EXPECT_TRUE(result->ok) << control::to_line(*result);
    EXPECT_EQ(result->task, 4242u);
  }

  // Submits a task reading `input_file` and returns its error (empty when it succeeded).
  std::string input_file_error(control::Client& client, const std::string& input_file, std::uint64_t id) {
    control::TaskSpec t = good_task(id);
    t.input_file = input_file;
    client.submit(t);
    const auto reply = client.next(k_reply_timeout);
    if (!reply) {
      ADD_FAILURE() << input_file << ": no reply\n" << edge_->output();
      return "";
    }
    if (const auto* r = std::get_if<control::TaskResult>(&*reply)) return r->ok ? "" : r->error.value_or("?");
    if (const auto* e = std::get_if<control::ErrorReply>(&*reply)) return e->error;
    return "unexpected status reply";
  }

  TempDir inputs_{"control_port_inputs"};
  std::unique_ptr<DaemonProcess> edge_;
  std::uint16_t port_ = 0;
  std::string token_;
};

// (a) "op" of every non-string JSON type: one refusal each, naming the field.
TEST_F(ControlPort, OpOfAnyNonStringTypeIsRefused) {
  ASSERT_NO_FATAL_FAILURE(start());
  RawControl raw(port_);
  for (const std::string op : {"1", "null", "[]", "{}", "true", "1.5"}) {
    const std::string line = R"({"op":)" + op + "}";
    ASSERT_TRUE(raw.send(line + "\n"));
    const auto j = expect_error_line(raw.read_line(), line);
    EXPECT_NE(error_text(j).find("'op'"), std::string::npos) << line << ": " << j.dump();
  }
  ASSERT_NO_FATAL_FAILURE(expect_alive());
}

// (b) Invalid UTF-8, alone, in a key and in a value: the refusal is valid JSON.
TEST_F(ControlPort, InvalidUtf8LinesGetValidJsonErrors) {
  ASSERT_NO_FATAL_FAILURE(start());
  RawControl raw(port_);
  const std::vector<std::pair<std::string, std::string>> bad{
      {"a lone 0xff", "\xff"},
      {"0xff in a key", "{\"mod\xffl\":\"lenet\"}"},
      {"0xff in a value", "{\"model\":\"len\xff" "et\"}"},
      {"overlong '/' in a key", "{\"m\xc0\xaf\":\"lenet\"}"},
      {"overlong '/' in a value", "{\"model\":\"\xc0\xaf\"}"},
      {"surrogate in a key", "{\"\xed\xa0\x80\":1}"},
      {"surrogate in a value", "{\"model\":\"\xed\xa0\x80\"}"},
      {"truncated sequence in a key", "{\"\xe2\x82\":1}"},
      {"truncated sequence in a value", "{\"model\":\"x\xe2\x82\"}"},
      {"truncated sequence at the end", "{\"model\":\"lenet\"}\xf0\x9f\x98"},
  };
  for (const auto& [what, line] : bad) {
    ASSERT_TRUE(raw.send(line + "\n")) << what;
    expect_error_line(raw.read_line(), what);
  }
  ASSERT_NO_FATAL_FAILURE(expect_alive());
}

// (c) 100,000 '[' after a valid prefix: refused by the depth pre-scan (the line limit is
// raised so the line reaches it), and with the default line limit by the length check.
TEST_F(ControlPort, DeepNestingIsRefusedWithoutACrash) {
  ASSERT_NO_FATAL_FAILURE(start({"--control-max-line", "256KiB", "--control-max-depth", "4"}));
  const std::string deep = R"({"model":"lenet","task":)" + std::string(100'000, '[');
  RawControl raw(port_);
  ASSERT_TRUE(raw.send(deep + "\n"));
  const auto j = expect_error_line(raw.read_line(), "100,000 '['");
  EXPECT_NE(error_text(j).find("nested deeper than 4 levels"), std::string::npos) << j.dump();
  // The flag's limit, not a fixed one: five levels are refused, four are parsed (and then
  // refused for what they hold, a field of the wrong type).
  ASSERT_TRUE(raw.send(R"({"model":"lenet","task":[[[[1]]]]})" "\n"));
  EXPECT_NE(error_text(expect_error_line(raw.read_line(), "depth 5")).find("nested deeper than 4"), std::string::npos);
  ASSERT_TRUE(raw.send(R"({"model":"lenet","task":[[[1]]]})" "\n"));
  const std::string four = error_text(expect_error_line(raw.read_line(), "depth 4"));
  EXPECT_EQ(four.find("nested deeper"), std::string::npos) << four;
  EXPECT_NE(four.find("task"), std::string::npos) << four;
  ASSERT_TRUE(raw.send(R"({"op":"status"})" "\n"));
  const auto status = raw.read_line();
  ASSERT_TRUE(status.has_value());
  EXPECT_NE(status->find(R"("op":"status")"), std::string::npos) << "the connection stays usable: " << *status;
  ASSERT_NO_FATAL_FAILURE(expect_alive());
}

TEST_F(ControlPort, OverlongLineIsRefusedAndItsConnectionClosed) {
  ASSERT_NO_FATAL_FAILURE(start());  // default --control-max-line 64KiB
  RawControl raw(port_);
  ASSERT_TRUE(raw.send(R"({"model":"lenet","task":)" + std::string(100'000, '[') + "\n"));
  const auto j = expect_error_line(raw.read_line(), "a 100 KB line");
  EXPECT_NE(error_text(j).find("longer than"), std::string::npos) << j.dump();
  EXPECT_TRUE(raw.closed_within(k_reply_timeout));
  ASSERT_NO_FATAL_FAILURE(expect_alive());
}

// (d) A FIFO under --input-dir: refused at once (opened without blocking), and the compute
// thread is not left waiting on it: a later task completes.
TEST_F(ControlPort, FifoInputFileIsRefusedAndDoesNotBlock) {
  ASSERT_EQ(::mkfifo((inputs_.path / "pipe.tensor").c_str(), 0600), 0) << std::strerror(errno);
  ASSERT_NO_FATAL_FAILURE(start());
  control::Client client("127.0.0.1", port_);
  const std::string error = input_file_error(client, "pipe.tensor", 1);
  EXPECT_FALSE(error.empty()) << "a FIFO was accepted as an input file";
  EXPECT_NE(error.find("pipe.tensor"), std::string::npos) << error;
  client.submit(good_task(2));
  const auto reply = client.next(k_reply_timeout);
  ASSERT_TRUE(reply.has_value()) << "the task after the FIFO never completed\n" << edge_->output();
  const auto* r = std::get_if<control::TaskResult>(&*reply);
  ASSERT_NE(r, nullptr);
  EXPECT_TRUE(r->ok) << control::to_line(*r);
  ASSERT_NO_FATAL_FAILURE(expect_alive());
}

// (e) Outside the directory, "../", an absolute path, a symlink out, a missing file: one
// message (only the name differs), so a client learns nothing about what exists outside.
TEST_F(ControlPort, InputFilesOutsideTheDirectoryAllGetTheSameMessage) {
  const TempDir outside("control_port_outside");
  {
    std::ofstream(outside.path / "secret.tensor") << "not a tensor";
  }
  std::filesystem::create_symlink(outside.path / "secret.tensor", inputs_.path / "link.tensor");
  ASSERT_NO_FATAL_FAILURE(start());
  control::Client client("127.0.0.1", port_);
  const auto relative_out = std::filesystem::relative(outside.path / "secret.tensor", inputs_.path).string();
  ASSERT_EQ(relative_out.rfind("../", 0), 0u) << relative_out;
  const std::vector<std::string> names{relative_out, "../x", (outside.path / "secret.tensor").string(),
                                       "link.tensor", "missing.tensor", "/nonexistent/x.tensor"};
  std::optional<std::string> first;
  std::uint64_t id = 10;
  for (const std::string& name : names) {
    std::string error = input_file_error(client, name, id++);
    ASSERT_FALSE(error.empty()) << name << " was accepted";
    const auto at = error.find(name);
    ASSERT_NE(at, std::string::npos) << "the message should name the file: " << error;
    error.replace(at, name.size(), "NAME");
    if (!first) first = error;
    EXPECT_EQ(error, *first) << name;
  }
  EXPECT_NE(first->find("is not a tensor file under --input-dir"), std::string::npos) << *first;
  ASSERT_NO_FATAL_FAILURE(expect_alive());
}

// (e) Sparse files announcing 2 GiB: refused from their header and size alone, before a body
// byte is read, and the daemon's memory stays far below what they announce.
TEST_F(ControlPort, HugeSparseInputFilesAreRefusedBeforeTheirBodyIsRead) {
  constexpr std::int64_t k_floats = std::int64_t{1} << 29;  // 2 GiB of float32
  // The model's own shape, but a file 2 GiB long: the size does not match the header.
  const std::string lenet_header = tensor_header({1, 1, 32, 32});
  write_sparse_file(inputs_.path / "long.tensor", lenet_header,
                    static_cast<off_t>(lenet_header.size() + k_floats * 4));
  // A header claiming 2^29 floats, and a file that long.
  const std::string huge_header = tensor_header({1, 1, 16384, 32768});
  write_sparse_file(inputs_.path / "huge.tensor", huge_header, static_cast<off_t>(huge_header.size() + k_floats * 4));
  ASSERT_NO_FATAL_FAILURE(start());
  control::Client client("127.0.0.1", port_);

  const std::string size_error = input_file_error(client, "long.tensor", 1);
  EXPECT_NE(size_error.find(std::to_string(lenet_header.size() + k_floats * 4) + " bytes"), std::string::npos)
      << size_error;
  EXPECT_NE(size_error.find("its header says " + std::to_string(lenet_header.size() + 1024 * 4)), std::string::npos)
      << size_error;

  const std::string shape_error = input_file_error(client, "huge.tensor", 2);
  EXPECT_NE(shape_error.find("1x1x16384x32768"), std::string::npos) << shape_error;
  EXPECT_NE(shape_error.find("1x1x32x32"), std::string::npos) << shape_error;

  const std::int64_t rss = rss_kib(edge_->pid());
  ASSERT_GT(rss, 0);
  EXPECT_LT(rss, k_rss_bound_kib) << "VmRSS " << rss << " KiB";
  ASSERT_NO_FATAL_FAILURE(expect_alive());
}

// (f) One connection past --control-max-connections gets one error line and is closed.
TEST_F(ControlPort, ConnectionsPastTheCapGetOneErrorLineAndAreClosed) {
  ASSERT_NO_FATAL_FAILURE(start({"--control-max-connections", "2"}));
  auto first = std::make_unique<RawControl>(port_);
  auto second = std::make_unique<RawControl>(port_);
  // Both are served (the server has accepted them) before the third arrives.
  for (auto* c : {first.get(), second.get()}) {
    ASSERT_TRUE(c->send(R"({"op":"status"})" "\n"));
    ASSERT_TRUE(c->read_line().has_value());
  }
  RawControl third(port_);
  const auto j = expect_error_line(third.read_line(), "third connection");
  EXPECT_NE(error_text(j).find("too many control connections"), std::string::npos) << j.dump();
  EXPECT_TRUE(third.closed_within(k_reply_timeout)) << "the refused connection stays open";
  first.reset();
  second.reset();
  // The server notices the two closes asynchronously: retry, bounded.
  const auto until = std::chrono::steady_clock::now() + k_reply_timeout;
  bool served = false;
  while (!served && std::chrono::steady_clock::now() < until) {
    RawControl probe(port_);
    probe.send(R"({"op":"status"})" "\n");
    const auto line = probe.read_line(5s);
    served = line && line->find(R"("op":"status")") != std::string::npos;
  }
  ASSERT_TRUE(served) << "connections freed by closing are never reused";
  ASSERT_NO_FATAL_FAILURE(expect_alive());
}

// (f) An idle connection is closed after --control-idle-timeout.
TEST_F(ControlPort, IdleConnectionsAreClosed) {
  ASSERT_NO_FATAL_FAILURE(start({"--control-idle-timeout", "1s"}));
  RawControl idle(port_);
  EXPECT_TRUE(idle.closed_within(k_reply_timeout)) << "an idle connection was kept open\n" << edge_->output();
  EXPECT_TRUE(edge_->wait_for_line(std::regex("idle for"), 5s).has_value()) << edge_->output();
  ASSERT_NO_FATAL_FAILURE(expect_alive());
}

// (f) A client that never reads while status replies pile up is disconnected, and the
// daemon's memory does not follow what it asked for.
TEST_F(ControlPort, ClientThatNeverReadsIsDisconnected) {
  ASSERT_NO_FATAL_FAILURE(start({"--control-max-unread", "64KiB"}));
  const std::int64_t rss_before = rss_kib(edge_->pid());
  ASSERT_GT(rss_before, 0);
  RawControl silent(port_);
  // No SO_RCVBUF here: shrinking it after connect (window scaling already agreed) makes
  // loopback TCP drop segments and back off for minutes, which stalls this test, not the daemon.
  std::string batch;
  for (int i = 0; i < 200; ++i) batch += R"({"op":"status"})" "\n";
  // Requests wait in the daemon's receive buffer (up to tens of MB) before it reads them, so a
  // send may succeed long after the daemon has had enough: stop sending at its log line.
  const std::regex closing("unread: closing it");
  constexpr int k_max_batches = 2'000;  // 400,000 requests, about 200 MB of replies
  for (int sent = 0; sent < k_max_batches && silent.send(batch); ++sent) {
    if (edge_->wait_for_line(closing, 0ms)) break;
  }
  EXPECT_TRUE(edge_->wait_for_line(closing, k_reply_timeout).has_value()) << "the daemon kept a client that reads nothing";
  EXPECT_TRUE(silent.closed_within(k_reply_timeout)) << "the connection stays open";
  const std::int64_t rss_after = rss_kib(edge_->pid());
  EXPECT_LT(rss_after, rss_before + 256 * 1024) << "VmRSS grew from " << rss_before << " to " << rss_after << " KiB";
  ASSERT_NO_FATAL_FAILURE(expect_alive());
}

// (g) With a token: a wrong one is refused and its connection closed; the right one works.
TEST_F(ControlPort, TokenIsRequiredAndChecked) {
  const auto token_file = inputs_.path.parent_path() / ("control_port_token_" + std::to_string(::getpid()));
  {
    std::ofstream(token_file) << "correct horse battery staple\n";
  }
  ASSERT_NO_FATAL_FAILURE(start({"--control-token-file", token_file.string()}));
  std::filesystem::remove(token_file);

  RawControl wrong(port_);
  ASSERT_TRUE(wrong.send(R"({"op":"auth","token":"incorrect"})" "\n"));
  const auto j = expect_error_line(wrong.read_line(), "wrong token");
  EXPECT_NE(error_text(j).find("wrong token"), std::string::npos) << j.dump();
  EXPECT_TRUE(wrong.closed_within(k_reply_timeout));

  RawControl none(port_);
  ASSERT_TRUE(none.send(R"({"op":"status"})" "\n"));
  expect_error_line(none.read_line(), "no token");
  EXPECT_TRUE(none.closed_within(k_reply_timeout));

  token_ = "correct horse battery staple";
  ASSERT_NO_FATAL_FAILURE(expect_alive());
}

// (g) Listening off loopback without a token is refused at start: exit status 1, one line.
TEST(ControlPortStart, NonLoopbackWithoutATokenIsRefused) {
  const TempDir inputs("control_port_start");
  // Refused before binding: nothing listens on 0.0.0.0.
  DaemonProcess edge(k_bin + "/edge_daemon", {"--no-cloud", "--profiles", k_profiles, "--control", "0.0.0.0:0",
                                               "--threads", "1", "--models", "lenet"});
  EXPECT_EQ(edge.wait_exit(k_start_timeout), 1) << edge.output();
  const std::string out = edge.output();
  const std::regex refusal("\nedge_daemon: refusing to serve the control port on 0\\.0\\.0\\.0 without a token[^\n]*"
                           "--control-token-file[^\n]*\n$");
  EXPECT_TRUE(std::regex_search("\n" + out, refusal)) << out;
  EXPECT_EQ(out.find("control listening"), std::string::npos) << out;
}

}  // namespace
}  // namespace tandem
