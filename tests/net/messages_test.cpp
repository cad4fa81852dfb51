#include "net/messages.hpp"

#include <random>

#include <gtest/gtest.h>

#include "net/byte_io.hpp"
#include "net/parser.hpp"
#include "net_test_support.hpp"

namespace tandem::net {
namespace {

// Encodes, serialises, parses and returns the frame as a receiver would see it.
Frame through_wire(const Expected<OutgoingFrame>& encoded) {
  EXPECT_TRUE(encoded.ok()) << (encoded.ok() ? "" : encoded.error().message);
  const auto wire = test::frame_bytes(encoded.value());
  FrameParser p;
  EXPECT_EQ(p.feed(wire).status, ParseStatus::good);
  return p.take_frame();
}

// A frame of `type` carrying exactly `payload` (valid header and checksum).
Frame frame_with_payload(MessageType type, std::vector<std::byte> payload) {
  OutgoingFrame f(type, 1);
  f.inline_bytes() = std::move(payload);
  EXPECT_TRUE(f.finish());
  const auto wire = test::frame_bytes(f);
  FrameParser p;
  EXPECT_EQ(p.feed(wire).status, ParseStatus::good);
  return p.take_frame();
}

TEST(Messages, HandshakeRoundTrip) {
  Nonce nonce{};
  nonce.fill(0x5A);
  Challenge c{k_protocol_version, nonce, "cloud-1"};
  auto c2 = decode_challenge(through_wire(encode_message(c))).value();
  EXPECT_EQ(c2.server_nonce, c.server_nonce);
  EXPECT_EQ(c2.server_name, "cloud-1");

  Hello h;
  h.client_name = "edge-7";
  h.client_nonce.fill(3);
  h.proof.fill(9);
  h.models = {{"alexnet", 0xAAull}, {"resnet18", 0xFFFF'FFFF'FFFF'FFFFull}};
  auto h2 = decode_hello(through_wire(encode_message(h))).value();
  EXPECT_EQ(h2.protocol_version, k_protocol_version);
  EXPECT_EQ(h2.client_name, h.client_name);
  EXPECT_EQ(h2.client_nonce, h.client_nonce);
  EXPECT_EQ(h2.proof, h.proof);
  EXPECT_EQ(h2.models, h.models);

  HelloAck a{k_protocol_version, "cloud-1", {}, {3, 2, 12.5}};
  a.server_proof.fill(4);
  auto a2 = decode_hello_ack(through_wire(encode_message(a))).value();
  EXPECT_EQ(a2.server_proof, a.server_proof);
  EXPECT_EQ(a2.load, a.load);
}

// Any closed cut of a large graph travels: a fragmented 5000-node cut as text
// ranges would have been thousands of bytes (the old 256-byte cut id).
TEST(Messages, InferCarriesAnyCutAsABitmap) {
  InferRequest r = test::toy_request(4, 1.0f);
  std::mt19937 rng(7);
  r.edge_nodes.assign(5003, false);
  for (std::size_t i = 0; i < r.edge_nodes.size(); ++i) r.edge_nodes[i] = (rng() % 3) == 0;
  r.edge_nodes[0] = true;
  const auto back = decode_infer(through_wire(encode_message(r, 1))).value();
  EXPECT_EQ(back.edge_nodes, r.edge_nodes);

  r.edge_nodes.clear();
  EXPECT_FALSE(encode_message(r, 1).ok());
  r.edge_nodes.assign(k_max_cut_nodes + 1, true);
  EXPECT_FALSE(encode_message(r, 1).ok());

  // Hand-made payloads: a node count of zero, over the limit, bits past the
  // count, a bitmap shorter than the count says.
  const auto infer_with = [](std::uint32_t nodes, std::vector<std::uint8_t> bitmap) {
    OutgoingFrame f(MessageType::infer, 9);
    ByteWriter w(f.inline_bytes());
    w.str16("toy");
    w.u32(nodes);
    for (auto b : bitmap) w.u8(b);
    w.u32(0);
    w.u16(0);
    EXPECT_TRUE(f.finish());
    return decode_infer(through_wire(std::move(f)));
  };
  EXPECT_TRUE(infer_with(3, {0x07}).ok());
  EXPECT_FALSE(infer_with(0, {}).ok());
  EXPECT_FALSE(infer_with(k_max_cut_nodes + 1, {0x01}).ok());
  EXPECT_FALSE(infer_with(3, {0x0f}).ok());
  EXPECT_FALSE(infer_with(17, {0xff, 0xff}).ok());
}

TEST(Messages, InferAndResultRoundTrip) {
  InferRequest r = test::toy_request(10, 0.5f, 250);
  r.tensors.push_back(make_f32_tensor(8, {2, 3}, {1, 2, 3, 4, 5, 6}, Codec::fp16));
  const Frame f = through_wire(encode_message(r, 42));
  EXPECT_EQ(f.header.request_id, 42u);
  auto r2 = decode_infer(f).value();
  EXPECT_EQ(r2.model, "toy");
  EXPECT_EQ(r2.edge_nodes, r.edge_nodes);
  EXPECT_EQ(r2.deadline_ms, 250u);
  ASSERT_EQ(r2.tensors.size(), 2u);
  EXPECT_EQ(r2.tensors[0].node_id, 3);
  EXPECT_EQ(r2.tensors[0].shape, (Shape{1, 10}));
  EXPECT_EQ(to_floats(r2.tensors[0]), to_floats(r.tensors[0]));
  EXPECT_EQ(r2.tensors[1].node_id, 8);
  EXPECT_EQ(r2.tensors[1].codec, Codec::fp16);
  EXPECT_EQ(to_floats(r2.tensors[1]), (std::vector<float>{1, 2, 3, 4, 5, 6}));

  InferResult res;
  res.outputs.push_back(make_f32_tensor(20, {1, 4}, {9, 8, 7, 6}));
  res.compute_ms = 3.25;
  res.queue_wait_ms = 0.5;
  res.receive = {1.75, 4096};
  res.load = {1, 1, 3.0};
  auto res2 = decode_result(through_wire(encode_message(res, 42))).value();
  ASSERT_EQ(res2.outputs.size(), 1u);
  EXPECT_EQ(res2.outputs[0].node_id, 20);
  EXPECT_EQ(to_floats(res2.outputs[0]), (std::vector<float>{9, 8, 7, 6}));
  EXPECT_EQ(res2.compute_ms, 3.25);
  EXPECT_EQ(res2.queue_wait_ms, 0.5);
  EXPECT_EQ(res2.receive, res.receive);
  EXPECT_EQ(res2.load, res.load);
}

TEST(Messages, ErrorProbeStatusRoundTrip) {
  const Frame ef = through_wire(encode_message(ErrorMessage{Errc::fingerprint_mismatch, "model toy differs"}, 3, true));
  EXPECT_EQ(ef.header.flags & frame_flags::closing, frame_flags::closing);
  auto e = decode_error(ef).value();
  EXPECT_EQ(e.code, Errc::fingerprint_mismatch);
  EXPECT_EQ(e.text, "model toy differs");

  auto p = decode_probe(through_wire(encode_message(Probe{100, 5000}, 4))).value();
  EXPECT_EQ(p.reply_bytes, 100u);
  EXPECT_EQ(p.filler_bytes, 5000u);
  auto pa = decode_probe_ack(through_wire(encode_message(ProbeAck{5008, {2.5, 4000}, 100}, 4))).value();
  EXPECT_EQ(pa.probe_payload_bytes, 5008u);
  EXPECT_EQ(pa.receive, (ReceiveTiming{2.5, 4000}));
  EXPECT_EQ(pa.filler_bytes, 100u);

  auto s = decode_status(through_wire(encode_message(Status{{7, 2, 40.0}}, 5))).value();
  EXPECT_EQ(s.load, (CloudLoad{7, 2, 40.0}));
}

TEST(Messages, UnknownErrorCodeFromANewerPeerIsKeptAsText) {
  std::vector<std::byte> payload;
  ByteWriter w(payload);
  w.u16(999);
  w.str16("something new");
  auto e = decode_error(frame_with_payload(MessageType::error, payload)).value();
  EXPECT_EQ(e.code, Errc::remote_error);
  EXPECT_NE(e.text.find("999"), std::string::npos);
}

TEST(Messages, DecodersRejectWrongTypeTruncationAndTrailingBytes) {
  const Frame infer = through_wire(encode_message(test::toy_request(4, 0), 1));
  EXPECT_EQ(decode_result(infer).error().code, make_error_code(Errc::unexpected_message));

  auto payload = std::vector<std::byte>(infer.bytes().begin(), infer.bytes().end());
  for (std::size_t cut : {std::size_t{0}, std::size_t{1}, std::size_t{5}, payload.size() / 2, payload.size() - 1}) {
    auto truncated = std::vector<std::byte>(payload.begin(), payload.begin() + static_cast<std::ptrdiff_t>(cut));
    EXPECT_FALSE(decode_infer(frame_with_payload(MessageType::infer, truncated)).ok()) << cut;
  }
  payload.push_back(std::byte{0});
  const auto trailing = decode_infer(frame_with_payload(MessageType::infer, payload));
  ASSERT_FALSE(trailing.ok());
  EXPECT_NE(trailing.error().message.find("trailing"), std::string::npos);
}

TEST(Messages, ImpossibleCountsAreRejectedBeforeAllocating) {
  // HELLO announcing 60000 models in a few bytes.
  std::vector<std::byte> payload;
  ByteWriter w(payload);
  w.u16(k_protocol_version);
  w.str16("x");
  for (int i = 0; i < 64; ++i) w.u8(0);  // nonce + proof
  w.u16(60000);
  const auto hello = decode_hello(frame_with_payload(MessageType::hello, payload));
  ASSERT_FALSE(hello.ok());
  EXPECT_EQ(hello.error().code, make_error_code(Errc::malformed_payload));

  // INFER announcing 4000 tensors in 2 bytes.
  std::vector<std::byte> infer;
  ByteWriter wi(infer);
  wi.str16("toy");
  wi.str16("");
  wi.u32(0);
  wi.u16(4000);
  EXPECT_FALSE(decode_infer(frame_with_payload(MessageType::infer, infer)).ok());

  // An over-long string length.
  std::vector<std::byte> name;
  ByteWriter wn(name);
  wn.str16(std::string(300, 'a'));
  wn.str16("");
  wn.u32(0);
  wn.u16(0);
  EXPECT_FALSE(decode_infer(frame_with_payload(MessageType::infer, name)).ok());
}

TEST(Messages, ProbeFillerMustMatchAnnouncedLength) {
  std::vector<std::byte> payload;
  ByteWriter w(payload);
  w.u32(0);
  w.u32(100);
  payload.resize(payload.size() + 99);
  EXPECT_EQ(decode_probe(frame_with_payload(MessageType::probe, payload)).error().code,
            make_error_code(Errc::malformed_payload));
}

TEST(Messages, EncoderRejectsInconsistentTensor) {
  InferRequest r = test::toy_request(4, 0);
  r.tensors[0].shape = {1, 5};  // 5 elements announced, 4 present
  const auto encoded = encode_message(r, 1);
  ASSERT_FALSE(encoded.ok());
  EXPECT_EQ(encoded.error().code, make_error_code(Errc::invalid_tensor));
}

}  // namespace
}  // namespace tandem::net
