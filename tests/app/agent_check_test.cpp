// HAProxy's agent-check: the weight formula, the line per state, and the
// server spoken to over a raw socket as HAProxy does (connect, read one line,
// close), with its bounds.
#include <chrono>
#include <string>
#include <thread>

#include <utility>  // before Asio (Boost 1.74)

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <gtest/gtest.h>

#include "app/agent_check.hpp"

namespace tandem::app {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;
using namespace std::chrono_literals;

net::CloudLoad load(std::uint32_t queued, std::uint32_t in_service, double service_ms) {
  return {queued, in_service, service_ms};
}

// A client socket whose reads give up after 20 s, far above any server bound.
struct RawClient {
  asio::io_context io;
  tcp::socket socket{io};

  explicit RawClient(std::uint16_t port) {
    socket.connect({asio::ip::make_address("127.0.0.1"), port});
    const timeval bound{20, 0};
    setsockopt(socket.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &bound, sizeof bound);
  }

  /// Everything until the server closes; `ec` is how the read ended.
  std::string read_all(boost::system::error_code& ec) {
    std::string got;
    char buf[256];
    for (;;) {
      const std::size_t n = socket.read_some(asio::buffer(buf), ec);
      got.append(buf, n);
      if (ec) return got;
    }
  }

  std::string read_all() {
    boost::system::error_code ec;
    std::string got = read_all(ec);
    EXPECT_TRUE(ec == asio::error::eof || ec == asio::error::connection_reset) << ec.message();
    return got;
  }
};

TEST(AgentWeight, FollowsTheExpectedWaitAndHalvesAtTheReference) {
  EXPECT_EQ(agent_weight_percent(load(0, 0, 0), 1, 100), 100);
  EXPECT_EQ(agent_weight_percent(load(0, 0, 250), 1, 100), 100);  // idle, however slow
  // (q + s) · t / w = 1 · 100 / 1 = 100 ms = R: half.
  EXPECT_EQ(agent_weight_percent(load(0, 1, 100), 1, 100), 50);
  // 2 · 100 / 1 = 200 ms: 100 · 100 / 300.
  EXPECT_EQ(agent_weight_percent(load(1, 1, 100), 1, 100), 33);
  // Two workers halve the wait: 2 · 100 / 2 = 100 ms.
  EXPECT_EQ(agent_weight_percent(load(1, 1, 100), 2, 100), 50);
  // 0 workers count as one.
  EXPECT_EQ(agent_weight_percent(load(1, 1, 100), 0, 100), 33);
  // A larger reference is more tolerant: 200 ms of wait against R = 600 ms.
  EXPECT_EQ(agent_weight_percent(load(1, 1, 100), 1, 600), 75);
  // Never 0% (HAProxy would drain it), never above 100%.
  EXPECT_EQ(agent_weight_percent(load(100000, 1, 10000), 1, 1), 1);
  EXPECT_EQ(agent_weight_percent(load(0, 0, -5), 1, 100), 100);
}

TEST(AgentReply, OneLinePerState) {
  EXPECT_EQ(agent_reply(AgentState::ready, load(0, 1, 100), 1, 100), "up 50%\n");
  EXPECT_EQ(agent_reply(AgentState::draining, load(0, 1, 100), 1, 100), "drain\n");
  EXPECT_EQ(agent_reply(AgentState::starting, {}, 1, 100), "down\n");
  EXPECT_EQ(agent_reply(AgentState::stopped, {}, 1, 100), "down\n");
}

TEST(AgentStatus, StartsDownServesDrainsAndStops) {
  AgentStatus status(1, 100);
  EXPECT_EQ(status.state(), AgentState::starting);
  EXPECT_EQ(status.reply(), "down\n");
  net::CloudLoad now = load(0, 0, 0);
  status.serve([&now] { return now; });
  EXPECT_EQ(status.reply(), "up 100%\n");
  now = load(3, 1, 100);  // 400 ms of wait
  EXPECT_EQ(status.reply(), "up 20%\n");
  status.drain();
  EXPECT_EQ(status.reply(), "drain\n");
  status.stop();
  EXPECT_EQ(status.state(), AgentState::stopped);
  EXPECT_EQ(status.reply(), "down\n");
}

TEST(AgentCheckServer, AnswersEachConnectionWithOneLineAndCloses) {
  AgentStatus status(2, 100);
  AgentCheckServer agent({"127.0.0.1", 0}, [&status] { return status.reply(); });
  ASSERT_GT(agent.port(), 0);
  EXPECT_EQ(RawClient(agent.port()).read_all(), "down\n");
  net::CloudLoad now = load(1, 2, 50);  // 3 · 50 / 2 = 75 ms: 100 · 100 / 175
  status.serve([&now] { return now; });
  EXPECT_EQ(RawClient(agent.port()).read_all(), "up 57%\n");
  // HAProxy's agent-send: the text is read and ignored.
  RawClient sender(agent.port());
  asio::write(sender.socket, asio::buffer(std::string("hello agent\n")));
  EXPECT_EQ(sender.read_all(), "up 57%\n");
  status.drain();
  EXPECT_EQ(RawClient(agent.port()).read_all(), "drain\n");
  status.stop();
  EXPECT_EQ(RawClient(agent.port()).read_all(), "down\n");
}

TEST(AgentCheckServer, APeerThatNeverClosesIsClosedAfterTheTimeout) {
  AgentCheckServer agent({"127.0.0.1", 0}, [] { return std::string("up 100%\n"); }, 300ms);
  RawClient client(agent.port());
  boost::system::error_code ec;
  // The line, then the server's close: EOF once the 300 ms pass, not the 20 s bound.
  EXPECT_EQ(client.read_all(ec), "up 100%\n");
  EXPECT_TRUE(ec == asio::error::eof || ec == asio::error::connection_reset) << ec.message();
}

TEST(AgentCheckServer, ConnectionsOverTheCapAreClosedWithoutALine) {
  AgentCheckServer agent({"127.0.0.1", 0}, [] { return std::string("up 100%\n"); }, 20s, 1);
  RawClient held(agent.port());
  char first[8];
  asio::read(held.socket, asio::buffer(first));  // "up 100%\n": held open, not closed by us
  EXPECT_EQ(std::string(first, 8), "up 100%\n");
  EXPECT_EQ(RawClient(agent.port()).read_all(), "");
  held.socket.close();
  // Once the server has seen the close, a new connection is answered again
  // (bounded: 200 tries, 10 ms apart).
  std::string got;
  for (int i = 0; i < 200 && got.empty(); ++i) {
    got = RawClient(agent.port()).read_all();
    if (got.empty()) std::this_thread::sleep_for(10ms);
  }
  EXPECT_EQ(got, "up 100%\n");
}

TEST(AgentCheckServer, AnAddressItCannotUseIsAnErrorNamingIt) {
  try {
    AgentCheckServer agent({"256.1.1.1", 0}, [] { return std::string("down\n"); });
    FAIL() << "listened on 256.1.1.1";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("agent-check on 256.1.1.1:0"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace tandem::app
