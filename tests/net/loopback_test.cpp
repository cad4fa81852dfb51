// Server and client over 127.0.0.1 with an echo handler.
#include <algorithm>
#include <atomic>
#include <future>
#include <mutex>
#include <thread>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "net/client.hpp"
#include "net/server.hpp"
#include "net/thread_name.hpp"
#include "net_test_support.hpp"

namespace tandem::net {
namespace {

using namespace std::chrono_literals;
using test::k_wait_bound;

ClientConfig toy_client() {
  ClientConfig c;
  c.client_name = "edge-test";
  c.models = {{"toy", test::k_toy_fingerprint}};
  return c;
}

template <class T>
Expected<T> get(std::future<Expected<T>>& f) {
  if (f.wait_for(k_wait_bound) != std::future_status::ready) return Error::make(Errc::internal_error, "test wait bound hit");
  return f.get();
}

TEST(Loopback, ListensOnPortZeroAndHandshakes) {
  test::ServerFixture fx;
  ASSERT_NE(fx.server->port(), 0);
  Client client(toy_client(), test::make_key());
  EXPECT_FALSE(client.connected());
  const auto ack = client.connect("127.0.0.1", fx.server->port());
  ASSERT_TRUE(ack.ok()) << ack.error().message;
  EXPECT_EQ(ack.value().server_name, "tandem-cloud");
  EXPECT_TRUE(client.connected());
  EXPECT_TRUE(test::wait_until([&] { return fx.server->stats().handshakes_completed == 1; }));
}

TEST(Loopback, SeveralRequestsInFlightAreMatchedByRequestId) {
  test::ServerFixture fx;
  Client client(toy_client(), test::make_key());
  ASSERT_TRUE(client.connect("127.0.0.1", fx.server->port()).ok());
  fx.handler->hold(true);
  constexpr int k_requests = 6;
  std::vector<std::future<Expected<InferResult>>> futures;
  for (int i = 0; i < k_requests; ++i) futures.push_back(client.infer(test::toy_request(1000 + i, 100.0f * i)));
  // All of them reach the handler before any is answered: they are in flight together.
  ASSERT_TRUE(test::wait_until([&] { return fx.handler->held() == k_requests; }));
  EXPECT_EQ(client.in_flight(), static_cast<std::size_t>(k_requests));
  EXPECT_EQ(fx.server->load().in_service, static_cast<std::uint32_t>(k_requests));
  fx.handler->release_reversed();  // answered in the opposite order
  for (int i = 0; i < k_requests; ++i) {
    const auto r = get(futures[i]);
    ASSERT_TRUE(r.ok()) << r.error().message;
    ASSERT_EQ(r.value().outputs.size(), 1u);
    const auto values = to_floats(r.value().outputs[0]);
    ASSERT_EQ(values.size(), static_cast<std::size_t>(1000 + i));
    EXPECT_EQ(values.front(), 100.0f * i);
    EXPECT_EQ(r.value().outputs[0].node_id, 3);
    EXPECT_GE(r.value().queue_wait_ms, 0.0);
    EXPECT_GE(r.value().compute_ms, 0.0);
  }
  EXPECT_EQ(client.in_flight(), 0u);
  // check_models ran on an I/O thread, infer on worker threads: never the same thread.
  for (auto worker : fx.handler->worker_threads()) {
    for (auto io : fx.handler->io_threads()) EXPECT_NE(worker, io);
  }
}

// A RESULT reports the load it leaves behind. Counting the request it answers
// made every edge see one phantom request in service after each reply, and
// predict a whole service time of cloud queueing for its next task.
TEST(Loopback, AResultsLoadLeavesOutTheRequestItAnswers) {
  test::ServerFixture fx;
  Client client(toy_client(), test::make_key());
  ASSERT_TRUE(client.connect("127.0.0.1", fx.server->port()).ok());
  for (int i = 0; i < 3; ++i) {
    auto f = client.infer(test::toy_request(1000, 1.0f));
    const auto r = get(f);
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_EQ(r.value().load.in_service, 0u);
    EXPECT_EQ(r.value().load.queue_length, 0u);
  }
}

// The daemons name their threads (perf, top -H); Linux keeps 15 characters.
TEST(ThreadName, NamesTheCallingThreadAndCutsLongNames) {
  std::string got_short, got_long;
  std::thread t([&] {
    char buf[32] = {};
    name_this_thread("edge-compute");
    ::pthread_getname_np(::pthread_self(), buf, sizeof buf);
    got_short = buf;
    name_this_thread("edge-cloud-link-and-more");
    ::pthread_getname_np(::pthread_self(), buf, sizeof buf);
    got_long = buf;
  });
  t.join();
  EXPECT_EQ(got_short, "edge-compute");
  EXPECT_EQ(got_long, "edge-cloud-link");
}

TEST(Loopback, LargeTensorRoundTripAndFp16) {
  test::ServerFixture fx;
  Client client(toy_client(), test::make_key());
  ASSERT_TRUE(client.connect("127.0.0.1", fx.server->port()).ok());
  auto request = test::toy_request(3 * 1024 * 1024, -5.0f);  // 12 MiB
  request.tensors.push_back(make_f32_tensor(9, {2, 2}, {0.1f, 0.2f, 0.3f, 65536.0f}, Codec::fp16));
  auto f = client.infer(std::move(request));
  const auto r = get(f);
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_EQ(r.value().outputs.size(), 2u);
  const auto big = to_floats(r.value().outputs[0]);
  ASSERT_EQ(big.size(), 3u * 1024 * 1024);
  EXPECT_EQ(big[12345], -5.0f + 12345);
  const auto small = to_floats(r.value().outputs[1]);
  EXPECT_EQ(small[0], half_to_float(float_to_half(0.1f)));
  EXPECT_TRUE(std::isinf(small[3]));
}

TEST(Loopback, ProbeAndStatus) {
  test::ServerFixture fx;
  Client client(toy_client(), test::make_key());
  ASSERT_TRUE(client.connect("127.0.0.1", fx.server->port()).ok());
  auto p = client.probe(256 * 1024, 1000);
  const auto r = get(p);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r.value().frame_bytes, k_header_size + 8 + 256 * 1024);
  EXPECT_GE(r.value().rtt_ms, 0.0);
  EXPECT_LE(r.value().receive.timed_bytes, r.value().frame_bytes);
  auto s = client.status();
  const auto load = get(s);
  ASSERT_TRUE(load.ok()) << load.error().message;
  EXPECT_EQ(load.value().queue_length, 0u);
}

// infer() writes its frame on the calling thread when the connection is
// idle (ClientConnection::write_directly); the kernel takes at most about
// TCP_NOTSENT_LOWAT of a big frame at once, and the I/O thread writes the
// rest ahead of anything queued meanwhile. Four threads sending frames of
// 4 KB to 1.6 MB and the main thread probes through the queue: a byte of
// one frame inside another would end the connection with a protocol error.
TEST(Loopback, RequestsFromManyThreadsAndProbesArriveWhole) {
  test::ServerFixture fx;
  Client client(toy_client(), test::make_key());
  ASSERT_TRUE(client.connect("127.0.0.1", fx.server->port()).ok());
  constexpr int k_threads = 4, k_each = 15;  // 60 in flight at most: the server takes 64 per connection
  std::atomic<int> good{0}, sent{0};
  std::vector<std::string> errors;
  std::mutex errors_mutex;
  std::vector<std::thread> senders;
  for (int t = 0; t < k_threads; ++t) {
    senders.emplace_back([&, t] {
      std::vector<std::shared_ptr<std::promise<void>>> done;
      for (int i = 0; i < k_each; ++i) {
        const std::size_t n = 1000 + static_cast<std::size_t>((t * k_each + i) * 4999) % 400000;
        const float first = static_cast<float>(t * 1000 + i);
        auto promise = std::make_shared<std::promise<void>>();
        done.push_back(promise);
        client.infer(
            test::toy_request(n, first),
            [&, n, first, promise](Expected<InferResult> r) {
              std::string why;
              if (!r) {
                why = r.error().message;
              } else {
                const auto v = to_floats(r.value().outputs.at(0));
                if (v.size() != n || v.front() != first || v.back() != first + static_cast<float>(n - 1)) {
                  why = fmt::format("reply of {} floats from {} does not echo the request ({} floats from {})", v.size(),
                                    v.empty() ? 0.0f : v.front(), n, first);
                }
              }
              if (why.empty()) {
                ++good;
              } else {
                std::lock_guard lock(errors_mutex);
                errors.push_back(why);
              }
              promise->set_value();
            },
            [&] { ++sent; });
      }
      for (auto& p : done) p->get_future().wait_for(k_wait_bound);
    });
  }
  std::vector<std::future<Expected<ProbeResult>>> probes;
  for (int i = 0; i < 10; ++i) probes.push_back(client.probe(200 * 1024 + 17 * i, 100));
  for (auto& t : senders) t.join();
  for (auto& p : probes) {
    const auto r = get(p);
    EXPECT_TRUE(r.ok()) << r.error().message;
  }
  for (const auto& e : errors) ADD_FAILURE() << e;
  EXPECT_EQ(good.load(), k_threads * k_each);
  EXPECT_TRUE(test::wait_until([&] { return sent.load() == k_threads * k_each; })) << sent.load();
  EXPECT_TRUE(client.connected());
  EXPECT_EQ(fx.server->stats().sessions_rejected, 0u);
  EXPECT_EQ(fx.server->stats().frames_dropped, 0u);
}

TEST(Loopback, DeadlineFailsTheRequestAndTheConnectionStaysUsable) {
  test::ServerFixture fx;
  Client client(toy_client(), test::make_key());
  ASSERT_TRUE(client.connect("127.0.0.1", fx.server->port()).ok());
  fx.handler->hold(true);
  auto late = client.infer(test::toy_request(10, 0, /*deadline_ms=*/50));
  const auto r = get(late);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, make_error_code(Errc::deadline_exceeded));
  EXPECT_NE(r.error().message.find("50 ms"), std::string::npos) << r.error().message;
  fx.handler->hold(false);
  fx.handler->release_reversed();  // the late RESULT arrives and is ignored
  auto next = client.infer(test::toy_request(10, 1));
  EXPECT_TRUE(get(next).ok());
  EXPECT_TRUE(client.connected());
}

TEST(Loopback, DroppedResponderBecomesAnError) {
  test::ServerFixture fx;
  Client client(toy_client(), test::make_key());
  ASSERT_TRUE(client.connect("127.0.0.1", fx.server->port()).ok());
  fx.handler->hold(true);
  auto f = client.infer(test::toy_request(10, 0));
  ASSERT_TRUE(test::wait_until([&] { return fx.handler->held() == 1; }));
  fx.handler->drop();
  const auto r = get(f);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, make_error_code(Errc::internal_error));
  EXPECT_TRUE(client.connected());
}

TEST(Loopback, NotConnectedFailsImmediately) {
  Client client(toy_client(), test::make_key());
  auto f = client.infer(test::toy_request(4, 0));
  const auto r = get(f);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, make_error_code(Errc::not_connected));
}

TEST(Loopback, ConnectionLossFailsEveryInFlightRequestAndReconnectWorks) {
  ServerConfig config;
  config.stop_timeout = 50ms;
  config.linger_timeout = 100ms;
  auto fx = std::make_unique<test::ServerFixture>(config);
  Client client(toy_client(), test::make_key());
  ASSERT_TRUE(client.connect("127.0.0.1", fx->server->port()).ok());
  fx->handler->hold(true);
  std::vector<std::future<Expected<InferResult>>> futures;
  for (int i = 0; i < 3; ++i) futures.push_back(client.infer(test::toy_request(10, static_cast<float>(i))));
  ASSERT_TRUE(test::wait_until([&] { return fx->handler->held() == 3; }));
  fx->server->stop();  // the requests never finish: the server gives up and closes
  for (auto& f : futures) {
    const auto r = get(f);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, make_error_code(Errc::connection_lost)) << r.error().message;
    EXPECT_NE(r.error().message.find("lost"), std::string::npos) << r.error().message;
  }
  EXPECT_FALSE(client.connected());
  ASSERT_TRUE(client.last_error());
  EXPECT_EQ(client.in_flight(), 0u);
  fx->handler->drop();
  const auto old_port = fx->server->port();
  fx.reset();

  // Connecting to the dead port fails with an error; a new server is reachable.
  const auto refused = client.connect("127.0.0.1", old_port);
  EXPECT_FALSE(refused.ok());
  EXPECT_FALSE(client.connected());
  test::ServerFixture again;
  ASSERT_TRUE(client.connect("127.0.0.1", again.server->port()).ok());
  auto f = client.infer(test::toy_request(10, 7));
  EXPECT_TRUE(get(f).ok());
}

TEST(Loopback, StopWaitsForInFlightRequestsAndDeliversThem) {
  test::ServerFixture fx;
  Client client(toy_client(), test::make_key());
  ASSERT_TRUE(client.connect("127.0.0.1", fx.server->port()).ok());
  fx.handler->hold(true);
  auto a = client.infer(test::toy_request(10, 1));
  auto b = client.infer(test::toy_request(10, 2));
  ASSERT_TRUE(test::wait_until([&] { return fx.handler->held() == 2; }));
  auto stopper = std::async(std::launch::async, [&] { fx.server->stop(); });
  EXPECT_EQ(stopper.wait_for(0ms), std::future_status::timeout);
  fx.handler->release_reversed();
  const auto ra = get(a), rb = get(b);
  ASSERT_TRUE(ra.ok()) << ra.error().message;
  ASSERT_TRUE(rb.ok()) << rb.error().message;
  EXPECT_EQ(to_floats(rb.value().outputs[0]).front(), 2.0f);
  ASSERT_EQ(stopper.wait_for(k_wait_bound), std::future_status::ready);
  EXPECT_EQ(fx.server->session_count(), 0u);
}

TEST(Loopback, ManyClientsAtOnce) {
  ServerConfig config;
  config.io_threads = 2;
  config.worker_threads = 2;
  test::ServerFixture fx(config);
  std::vector<std::unique_ptr<Client>> clients;
  for (int i = 0; i < 4; ++i) {
    clients.push_back(std::make_unique<Client>(toy_client(), test::make_key()));
    ASSERT_TRUE(clients.back()->connect("127.0.0.1", fx.server->port()).ok());
  }
  std::vector<std::future<Expected<InferResult>>> futures;
  for (int round = 0; round < 10; ++round) {
    for (auto& c : clients) futures.push_back(c->infer(test::toy_request(256, static_cast<float>(round))));
  }
  for (auto& f : futures) EXPECT_TRUE(get(f).ok());
  // The counter moves just after each reply is queued, so it may trail the client a little.
  EXPECT_TRUE(test::wait_until([&] { return fx.server->stats().requests_completed == 40; }));
}

}  // namespace
}  // namespace tandem::net
