// The control protocol's one definition of each message: defaults, every
// field, strict refusals naming the field, and lines built to break a parser.
#include "control/protocol.hpp"

#include <string>

#include <gtest/gtest.h>

namespace tandem::control {
namespace {

TaskSpec task_of(std::string_view line) {
  auto request = parse_request(line);
  EXPECT_TRUE(std::holds_alternative<TaskSpec>(request)) << line;
  return std::get<TaskSpec>(request);
}

std::string refusal(std::string_view line) {
  try {
    parse_request(line);
  } catch (const ProtocolError& e) {
    return e.what();
  }
  return "accepted";
}

TEST(ControlProtocol, ParsesDefaultsAndEveryField) {
  const TaskSpec minimal = task_of(R"({"model": "lenet"})");
  EXPECT_EQ(minimal.model, "lenet");
  EXPECT_EQ(minimal.plan.mode, PlanChoice::Mode::automatic);
  EXPECT_EQ(minimal.objective, partition::Objective::latency);
  const TaskSpec t = task_of(R"({"task": 9, "model": "vgg16", "seed": 4, "objective": "energy",
      "deadline_ms": 250, "plan": "split:7", "codec": "fp16", "return_outputs": true, "input_file": "x.tensor"})");
  EXPECT_EQ(t.task, 9u);
  EXPECT_EQ(t.seed, 4u);
  EXPECT_EQ(t.objective, partition::Objective::energy);
  EXPECT_EQ(t.deadline_ms, 250);
  EXPECT_EQ(t.plan.mode, PlanChoice::Mode::split);
  EXPECT_EQ(t.plan.split, 7u);
  EXPECT_EQ(t.codec, partition::Codec::fp16);
  EXPECT_TRUE(t.return_outputs);
  EXPECT_EQ(t.input_file, "x.tensor");
  EXPECT_EQ(task_of(to_line(t)), t);
  EXPECT_EQ(task_of(R"({"op": "submit", "model": "a", "plan": "cut:0-3,5"})").plan.cut, "0-3,5");
  EXPECT_TRUE(std::holds_alternative<StatusRequest>(parse_request(status_request_line())));
  const auto auth = parse_request(auth_request_line("s3cret"));
  ASSERT_TRUE(std::holds_alternative<AuthRequest>(auth));
  EXPECT_EQ(std::get<AuthRequest>(auth).token, "s3cret");
}

TEST(ControlProtocol, RejectsBadFieldsNamingThem) {
  const struct {
    const char* line;
    const char* names;
  } cases[] = {
      {R"({"seed": 1})", "'model' is required"},
      {R"({"model": "a", "objective": "speed"})", "field 'objective': 'speed' is not latency"},
      {R"({"model": "a", "plan": "split:x"})", "split:K needs a whole number"},
      {R"({"model": "a", "plan": "middle"})", "'middle'"},
      {R"({"model": "a", "codec": "int9"})", "field 'codec'"},
      {R"({"model": "a", "seed": "x"})", "field 'seed' must be a whole number >= 0, not a string"},
      {R"({"model": "a", "seed": -1})", "field 'seed' must be a whole number >= 0"},
      {R"({"model": "a", "seed": 1.5})", "field 'seed' must be a whole number >= 0, not a number"},
      {R"({"model": "a", "task": null})", "field 'task'"},
      {R"({"model": "a", "deadline_ms": -1})", "deadline_ms"},
      {R"({"model": "a", "return_outputs": 1})", "field 'return_outputs' must be true or false"},
      {R"({"model": 7})", "field 'model' must be a string"},
      {R"({"model": "a", "objetive": "latency"})", "unknown field 'objetive'"},
      {R"([1, 2])", "must be a JSON object"},
      {R"("hello")", "must be a JSON object"},
      {R"({"op": "frobnicate"})", "unknown op"},
      {R"({"op": "status", "model": "a"})", "takes no other fields"},
      {R"({"op": "auth"})", "auth request"},
      {R"({"model": "a")", "not valid JSON"},
  };
  for (const auto& c : cases) EXPECT_NE(refusal(c.line).find(c.names), std::string::npos) << c.line << " -> " << refusal(c.line);
}

// Issue 13's crashing lines: an op of any non-string type, invalid UTF-8, deep
// nesting. Each must be one ProtocolError whose text is valid to send back.
TEST(ControlProtocol, HostileLinesAreRefusedNotThrownThrough) {
  const std::string cases[] = {
      R"({"op":1})", R"({"op":null})", R"({"op":[]})", R"({"op":{}})", R"({"op":true})", R"({"op":1.5})",
      "\xff", "{\"model\":\"\xff\"}", "{\"m\xc0\xaf\":1}", "{\"model\":\"\xed\xa0\x80\"}", "{\"model\":\"\xe2\x82\"}",
      "{\"model\":\"lenet\",\"task\":" + std::string(100000, '[') + "}",
      std::string(100000, '{'),
  };
  for (const auto& line : cases) {
    std::string why;
    try {
      parse_request(line);
      why = "accepted";
    } catch (const ProtocolError& e) {
      why = e.what();
    }
    EXPECT_NE(why, "accepted") << line.substr(0, 40);
    // The error reply must serialise (no invalid UTF-8 echoed back).
    EXPECT_NO_THROW(nlohmann::json::parse(to_line(ErrorReply{.ok = false, .error = why, .task = std::nullopt})));
    EXPECT_NO_THROW(task_id_of(line));
  }
  EXPECT_NE(refusal(std::string(100, '[')).find("nested deeper than 16"), std::string::npos);
}

// Found by fuzz/control_fuzz.cpp: nlohmann refuses a number beyond a double
// with out_of_range, not parse_error, and parse_request let it through; in
// the edge daemon it escaped ControlServer::handle_line and ended the
// connection's coroutine without closing or forgetting the connection.
TEST(ControlProtocol, NumbersBeyondADoubleAreRefusedNotThrownThrough) {
  const std::string cases[] = {R"({"model": "lenet", "deadline_ms": 1e400})", R"({"task": -1e400})", "1e400",
                               R"({"op": "status", "x": [1e999]})"};
  for (const auto& line : cases) {
    EXPECT_EQ(refusal(line), "not valid JSON (a number out of range)") << line;
    EXPECT_EQ(task_id_of(line), std::nullopt) << line;
  }
}

// Found by fuzz/control_fuzz.cpp (with UBSan): a reply whose integer field
// holds a number beyond 2^64 ("task": 8e102 — nlohmann parses it as a
// double) was converted to uint64_t, which is undefined behaviour; replies
// were converted without any type check. Now replies are checked like
// requests (unknown fields skipped), and no number at 2^63 or beyond passes.
TEST(ControlProtocol, NumbersNoFieldCanHoldAreRefused) {
  const std::string huge(103, '9');
  const std::string replies[] = {
      R"({"model": "resnet18", "task": )" + huge + "}",       // the fuzzer's line, shortened
      R"({"model": "resnet18", "task": -5.5})",               // a negative double into uint64_t
      R"({"model": "resnet18", "output_shape": [1e30]})",     // into a vector<int64_t>
      R"({"model": "resnet18", "outputs": [1e300]})",         // into a vector<float>
      R"({"model": "resnet18", "measured_wait": {"edge": "x"}})",  // nested struct, wrong type
      R"({"model": "resnet18", "joint": {"little_top1": 1e19}})",  // optional nested struct
      R"({"ok": false, "error": "x", "task": 1e19})",         // optional uint64_t
      R"({"ok": false, "error": "x", "task": -3.5})",
      R"({"op": "status", "cloud_queue_length": 5e9})",       // a double where an integer belongs
      R"({"op": "status", "submitted": "4"})",
  };
  for (const auto& line : replies) EXPECT_THROW(parse_reply(line), ProtocolError) << line;
  EXPECT_THROW(parse_reply(std::string(20, '[') + std::string(20, ']')), ProtocolError);
  const std::string requests[] = {R"({"model": "lenet", "task": )" + huge + "}",
                                  R"({"model": "lenet", "deadline_ms": 1e300})",
                                  R"({"model": "lenet", "input": {"shape": [1], "values": [1e300]}})"};
  for (const auto& line : requests) EXPECT_NE(refusal(line), "accepted") << line;
  EXPECT_NE(refusal(requests[0]).find("field 'task' must be a whole number >= 0"), std::string::npos);
  EXPECT_NE(refusal(requests[1]).find("out of range"), std::string::npos);

  // Fields a newer daemon adds are skipped by this client; known ones still convert.
  const auto newer = parse_reply(R"({"model": "lenet", "task": 7, "ok": true, "gpu_ms": 1.5,
      "measured_wait": {"edge": 2.5, "disk": 1}})");
  ASSERT_TRUE(std::holds_alternative<TaskResult>(newer));
  EXPECT_EQ(std::get<TaskResult>(newer).task, 7u);
  EXPECT_EQ(std::get<TaskResult>(newer).measured_wait.edge, 2.5);
}

TEST(ControlProtocol, ErrorRepliesNameTheTaskWhenTheyCan) {
  EXPECT_EQ(task_id_of(R"({"task": 12, "model": 3})"), 12u);
  EXPECT_EQ(task_id_of(R"({"task": "x"})"), std::nullopt);
  EXPECT_EQ(task_id_of("garbage"), std::nullopt);
}

TEST(ControlProtocol, ResultsAndStatusRoundTrip) {
  TaskResult r;
  r.task = 3;
  r.model = "resnet18";
  r.ok = true;
  r.placement = partition::Placement::split;
  r.objective = partition::Objective::throughput;
  r.mode = PlanningMode::heavy;
  r.cut = "0-34";
  r.edge_nodes = 34;
  r.crossing_bytes = 401408;
  r.predicted_ms = 12.5;
  r.measured_ms = 13.25;
  r.bandwidth_mbit = 5.85;
  r.fallback = true;
  r.fallback_reason = "cloud request failed: connection lost";
  r.outputs = {1.5f, -2.0f};
  const auto reply = parse_reply(to_line(r));
  ASSERT_TRUE(std::holds_alternative<TaskResult>(reply));
  EXPECT_EQ(to_line(std::get<TaskResult>(reply)), to_line(r));
  const auto j = nlohmann::json::parse(to_line(TaskResult{}));
  EXPECT_TRUE(j.at("error").is_null());
  EXPECT_TRUE(j.at("placement").is_null());
  EXPECT_EQ(nlohmann::json::parse(to_line(r)).at("placement"), "split");

  Status s;
  s.submitted = 4;
  s.bandwidth_mbit = 9.5;
  const auto status = parse_reply(to_line(s));
  ASSERT_TRUE(std::holds_alternative<Status>(status));
  EXPECT_EQ(std::get<Status>(status).submitted, 4u);
  const auto error = parse_reply(to_line(ErrorReply{.ok = false, .error = "line 2: x", .task = 5}));
  ASSERT_TRUE(std::holds_alternative<ErrorReply>(error));
  EXPECT_EQ(std::get<ErrorReply>(error).task, 5u);
  EXPECT_THROW(parse_reply("[]"), ProtocolError);
}

// The task fields of issue 15: joint mode, inline inputs, codec choice and
// accuracy budget, privacy floor.
TEST(ControlTaskFields, JointModeAndItsMiner) {
  const TaskSpec t = task_of(R"({"model": "big", "mode": "joint", "little": "small", "miner": "ibt",
      "threshold": 0.8, "box_threshold": 0.7})");
  EXPECT_EQ(t.mode, TaskMode::joint);
  EXPECT_EQ(t.little, "small");
  EXPECT_EQ(t.miner, MinerKind::ibt);
  EXPECT_EQ(t.threshold, 0.8);
  EXPECT_EQ(t.box_threshold, 0.7);
  EXPECT_EQ(task_of(to_line(t)), t);
  const TaskSpec plain = task_of(R"({"model": "big"})");
  EXPECT_EQ(plain.mode, TaskMode::single);
  EXPECT_FALSE(plain.threshold);
}

TEST(ControlTaskFields, InlineInputs) {
  const TaskSpec t = task_of(R"({"model": "m", "input": {"shape": [1, 2, 2], "values": [0, 1.5, 255, -3]}})");
  ASSERT_TRUE(t.input);
  EXPECT_EQ(t.input->shape, (std::vector<std::int64_t>{1, 2, 2}));
  EXPECT_EQ(t.input->values, (std::vector<float>{0, 1.5f, 255, -3}));
  EXPECT_EQ(task_of(to_line(t)), t);
}

TEST(ControlTaskFields, CodecsAccuracyBudgetAndPrivacyFloor) {
  const TaskSpec a = task_of(R"({"model": "m", "codec": "auto", "accuracy_budget": 0.5, "privacy_floor": "layers:2"})");
  EXPECT_TRUE(a.codec.automatic);
  EXPECT_EQ(a.accuracy_budget, 0.5);
  EXPECT_EQ(a.privacy_floor.layers, 2u);
  EXPECT_EQ(task_of(to_line(a)), a);
  const TaskSpec z = task_of(R"({"model": "m", "codec": "int8+zstd", "privacy_floor": "node:features.3"})");
  EXPECT_EQ(z.codec, partition::Codec::int8_zstd);
  EXPECT_EQ(z.privacy_floor.nodes, std::vector<std::string>{"features.3"});
  EXPECT_EQ(task_of(to_line(z)), z);
}

TEST(ControlTaskFields, RefusalsNameTheField) {
  const struct {
    const char* line;
    const char* names;
  } cases[] = {
      {R"({"model": "a", "mode": "both"})", "field 'mode': expected single or joint"},
      {R"({"model": "a", "mode": "joint"})", "'little' (the edge's model) is required"},
      {R"({"model": "a", "little": "b"})", "need mode joint"},
      {R"({"model": "a", "threshold": 0.5})", "need mode joint"},
      {R"({"model": "a", "mode": "joint", "little": "b", "miner": "vibes"})", "field 'miner': expected confidence"},
      {R"({"model": "a", "mode": "joint", "little": "b", "threshold": 1.5})", "'threshold' must be a number from 0 to 1"},
      {R"({"model": "a", "mode": "joint", "little": "b", "box_threshold": 0.5})", "applies to miner ibt only"},
      {R"({"model": "a", "codec": "int4"})", "field 'codec': expected auto, fp32"},
      {R"({"model": "a", "accuracy_budget": -1})", "'accuracy_budget' must be a percentage"},
      {R"({"model": "a", "accuracy_budget": 101})", "'accuracy_budget' must be a percentage"},
      {R"({"model": "a", "privacy_floor": "layers:x"})", "field 'privacy_floor'"},
      {R"({"model": "a", "privacy_floor": 3})", "field 'privacy_floor' must be a string"},
      {R"({"model": "a", "input": [1, 2]})", "field 'input'"},
      {R"({"model": "a", "input": {"shape": [2], "values": [1]}})", "must list the 2 elements"},
      {R"({"model": "a", "input": {"shape": [2], "values": [1, "x"]}})", "'values' must be numbers"},
      {R"({"model": "a", "input": {"shape": [70000], "values": []}})", "'shape' dims must be whole numbers 0 to 65536"},
      {R"({"model": "a", "input": {"shape": [300, 300], "values": []}})", "at most 65536 elements"},
      {R"({"model": "a", "input": {"shape": [], "values": []}})", "list of 1 to 8 dims"},
      {R"({"model": "a", "input": {"shape": [1], "values": [1e300]}})", "field 'input': a number out of range"},
      {R"({"model": "a", "input": {"shape": [1], "values": [1], "extra": 1}})", "expected {"},
      {R"({"model": "a", "input": {"shape": [1], "values": [1]}, "input_file": "x"})", "exclude each other"},
  };
  for (const auto& c : cases) {
    EXPECT_NE(refusal(c.line).find(c.names), std::string::npos) << c.line << " -> " << refusal(c.line);
  }
}

TEST(ControlTaskFields, JointResultsRoundTrip) {
  TaskResult r;
  r.task = 3;
  r.model = "little";
  r.ok = true;
  r.codec = partition::Codec::fp16_zstd;
  r.privacy_floor = "layers:1";
  JointOutcome j;
  j.answered_by = "little";
  j.little_model = "little";
  j.big_model = "big";
  j.miner = MinerKind::entropy;
  j.score = 0.12;
  j.threshold = 0.25;
  j.reason = "normalised entropy 0.120 <= 0.250";
  r.joint = j;
  const auto back = parse_reply(to_line(r));
  ASSERT_TRUE(std::holds_alternative<TaskResult>(back));
  const auto& got = std::get<TaskResult>(back);
  ASSERT_TRUE(got.joint);
  EXPECT_EQ(got.joint->reason, j.reason);
  EXPECT_EQ(got.joint->miner, MinerKind::entropy);
  EXPECT_EQ(got.codec, partition::Codec::fp16_zstd);
  EXPECT_EQ(got.privacy_floor, "layers:1");
}

}  // namespace
}  // namespace tandem::control
