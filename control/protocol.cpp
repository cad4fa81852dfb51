#include "control/protocol.hpp"

#include <charconv>
#include <cmath>

#include <fmt/format.h>

namespace tandem::control {
namespace {

constexpr std::size_t k_max_model_name = 256;
constexpr std::size_t k_max_inline_rank = 8;

// Nesting depth of arrays and objects, strings skipped, stopping as soon as
// it passes `limit`; nlohmann's parser never sees a line nested deeper.
bool nests_deeper_than(std::string_view line, std::size_t limit) {
  std::size_t depth = 0;
  bool in_string = false, escaped = false;
  for (const char c : line) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > limit) return true;
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return false;
}

nlohmann::json parse_json(std::string_view line, const LineLimits& limits) {
  if (nests_deeper_than(line, limits.max_depth)) {
    throw ProtocolError(fmt::format("nested deeper than {} levels", limits.max_depth));
  }
  try {
    return nlohmann::json::parse(line);
  } catch (const nlohmann::json::parse_error& e) {
    // The parser's own message quotes the bytes it read, which may not be
    // valid UTF-8: name the position instead.
    throw ProtocolError(fmt::format("not valid JSON (error at byte {})", e.byte));
  } catch (const nlohmann::json::out_of_range&) {
    // A number beyond a double ("1e400") is refused with out_of_range, not parse_error.
    throw ProtocolError("not valid JSON (a number out of range)");
  }
}

void validate(const TaskSpec& t) {
  if (t.model.empty()) throw ProtocolError("task field 'model' is required");
  if (t.model.size() > k_max_model_name) {
    throw ProtocolError(fmt::format("task field 'model' is longer than {} bytes", k_max_model_name));
  }
  if (!(t.deadline_ms >= 0) || !std::isfinite(t.deadline_ms)) {
    throw ProtocolError("task field 'deadline_ms' must be a finite number >= 0");
  }
  if (t.accuracy_budget && !(*t.accuracy_budget >= 0 && *t.accuracy_budget <= 100)) {
    throw ProtocolError("task field 'accuracy_budget' must be a percentage, 0 to 100");
  }
  const int inputs = (t.input ? 1 : 0) + (t.input_file.empty() ? 0 : 1);
  if (inputs > 1) throw ProtocolError("task fields 'input' and 'input_file' exclude each other");
  const bool joint = t.mode == TaskMode::joint;
  if (joint) {
    if (t.little.empty()) throw ProtocolError("task field 'little' (the edge's model) is required with mode joint");
    if (t.little.size() > k_max_model_name) {
      throw ProtocolError(fmt::format("task field 'little' is longer than {} bytes", k_max_model_name));
    }
  } else if (!t.little.empty() || t.threshold || t.box_threshold || t.miner != MinerKind::confidence) {
    throw ProtocolError("task fields 'little', 'miner', 'threshold' and 'box_threshold' need mode joint");
  }
  for (const auto& [name, value] : {std::pair{"threshold", t.threshold}, std::pair{"box_threshold", t.box_threshold}}) {
    if (value && !(*value >= 0 && *value <= 1)) {
      throw ProtocolError(fmt::format("task field '{}' must be a number from 0 to 1", name));
    }
  }
  if (t.box_threshold && t.miner != MinerKind::ibt) {
    throw ProtocolError("task field 'box_threshold' applies to miner ibt only");
  }
}

}  // namespace

std::string_view describe_json_type(const nlohmann::json& j) {
  switch (j.type()) {
    case nlohmann::json::value_t::null: return "null";
    case nlohmann::json::value_t::object: return "an object";
    case nlohmann::json::value_t::array: return "an array";
    case nlohmann::json::value_t::string: return "a string";
    case nlohmann::json::value_t::boolean: return "true or false";
    case nlohmann::json::value_t::number_integer: return "a whole number";
    case nlohmann::json::value_t::number_unsigned: return "a whole number >= 0";
    case nlohmann::json::value_t::number_float: return "a number";
    case nlohmann::json::value_t::binary:
    case nlohmann::json::value_t::discarded: break;
  }
  return "a value";
}

bool same_json_type(const nlohmann::json& example, const nlohmann::json& value) {
  switch (example.type()) {
    case nlohmann::json::value_t::null: return true;
    case nlohmann::json::value_t::number_unsigned: return value.is_number_unsigned();
    case nlohmann::json::value_t::number_integer: return value.is_number_integer();
    case nlohmann::json::value_t::number_float: return value.is_number();
    default: return example.type() == value.type();
  }
}

namespace {

// Every number in `value`, at any depth: finite (the parser guarantees it)
// and below 2^63 in magnitude, so converting it to any integer or float field
// of the protocol is defined.
void check_number_range(const nlohmann::json& value, std::string_view what) {
  if (value.is_number_float()) {
    if (!(std::fabs(value.get<double>()) < 0x1p63)) {
      throw ProtocolError(fmt::format("{}: a number out of range (magnitude 2^63 or more)", what));
    }
  } else if (value.is_structured()) {
    for (const auto& element : value) check_number_range(element, what);
  }
}

}  // namespace

void check_json_fields(const nlohmann::json& example, const nlohmann::json& value, std::string_view what,
                       UnknownFields unknown) {
  for (const auto& [key, v] : value.items()) {
    const auto known = example.find(key);
    if (known == example.end()) {
      if (unknown == UnknownFields::ignore) continue;
      std::string names;
      for (const auto& [k, ignored] : example.items()) names += (names.empty() ? "" : ", ") + k;
      throw ProtocolError(fmt::format("{}: unknown field '{}' (fields: {})", what, key.substr(0, 64), names));
    }
    if (!same_json_type(*known, v)) {
      throw ProtocolError(fmt::format("{} field '{}' must be {}, not {}", what, key, describe_json_type(*known),
                                      describe_json_type(v)));
    }
    const std::string field = fmt::format("{} field '{}'", what, key);
    check_number_range(v, field);
    // A negative double in an optional integer field would convert with
    // undefined behaviour (a negative whole number wraps, which is defined,
    // and the field's own check then names it).
    if (known->is_null() && v.is_number_float() && v.get<double>() < 0) {
      throw ProtocolError(fmt::format("{} must be >= 0", field));
    }
    if (known->is_object() && v.is_object()) check_json_fields(*known, v, field, unknown);
  }
}

std::string dump_line(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

PlanChoice parse_plan_choice(const std::string& text) {
  PlanChoice c;
  if (text.empty() || text == "auto") return c;
  if (text == "edge_only") {
    c.mode = PlanChoice::Mode::edge_only;
  } else if (text == "cloud_only") {
    c.mode = PlanChoice::Mode::cloud_only;
  } else if (text.starts_with("split:")) {
    c.mode = PlanChoice::Mode::split;
    const std::string_view k = std::string_view(text).substr(6);
    const auto [ptr, ec] = std::from_chars(k.data(), k.data() + k.size(), c.split);
    if (k.empty() || ec != std::errc() || ptr != k.data() + k.size()) {
      throw std::invalid_argument(fmt::format("plan '{}': split:K needs a whole number K", text));
    }
  } else if (text.starts_with("cut:") && text.size() > 4) {
    c.mode = PlanChoice::Mode::cut;
    c.cut = text.substr(4);
  } else {
    throw std::invalid_argument(fmt::format(
        "plan '{}' is not auto, edge_only, cloud_only, split:K or cut:NODES", text.substr(0, 64)));
  }
  return c;
}

std::string to_string(const PlanChoice& c) {
  switch (c.mode) {
    case PlanChoice::Mode::automatic: return "auto";
    case PlanChoice::Mode::edge_only: return "edge_only";
    case PlanChoice::Mode::cloud_only: return "cloud_only";
    case PlanChoice::Mode::split: return fmt::format("split:{}", c.split);
    case PlanChoice::Mode::cut: return "cut:" + c.cut;
  }
  return "auto";
}

std::string_view to_string(PlanningMode mode) {
  switch (mode) {
    case PlanningMode::light: return "light";
    case PlanningMode::heavy: return "heavy";
    case PlanningMode::timeline: return "timeline";
    case PlanningMode::batch: return "batch";
  }
  return "unknown";
}

std::string_view to_string(TaskMode mode) { return mode == TaskMode::joint ? "joint" : "single"; }

std::string_view to_string(MinerKind kind) {
  switch (kind) {
    case MinerKind::confidence: return "confidence";
    case MinerKind::entropy: return "entropy";
    case MinerKind::ibt: return "ibt";
  }
  return "confidence";
}

void to_json(nlohmann::json& j, const CodecChoice& c) {
  if (c.automatic) {
    j = "auto";
  } else {
    j = partition::to_string(c.codec);
  }
}

void from_json(const nlohmann::json& j, CodecChoice& c) {
  if (j == "auto") {
    c = CodecChoice{true, partition::Codec::fp32};
    return;
  }
  c.automatic = false;
  try {
    c.codec = j.get<partition::Codec>();
  } catch (const std::invalid_argument&) {
    throw std::invalid_argument("expected auto, fp32, fp16, int8, fp32+zstd, fp16+zstd or int8+zstd");
  }
}

void to_json(nlohmann::json& j, const TaskMode& m) { j = to_string(m); }

void from_json(const nlohmann::json& j, TaskMode& m) {
  if (j == "single") {
    m = TaskMode::single;
  } else if (j == "joint") {
    m = TaskMode::joint;
  } else {
    throw std::invalid_argument("expected single or joint");
  }
}

void to_json(nlohmann::json& j, const MinerKind& m) { j = to_string(m); }

void from_json(const nlohmann::json& j, MinerKind& m) {
  for (MinerKind k : {MinerKind::confidence, MinerKind::entropy, MinerKind::ibt}) {
    if (j == to_string(k)) {
      m = k;
      return;
    }
  }
  throw std::invalid_argument("expected confidence, entropy or ibt");
}

void to_json(nlohmann::json& j, const InlineTensor& t) { j = {{"shape", t.shape}, {"values", t.values}}; }

void from_json(const nlohmann::json& j, InlineTensor& t) {
  if (!j.is_object() || j.size() != 2 || !j.contains("shape") || !j.contains("values")) {
    throw std::invalid_argument(R"(expected {"shape": [dims], "values": [numbers]})");
  }
  const auto& shape = j.at("shape");
  const auto& values = j.at("values");
  if (!shape.is_array() || shape.empty() || shape.size() > k_max_inline_rank) {
    throw std::invalid_argument(fmt::format("'shape' must be a list of 1 to {} dims", k_max_inline_rank));
  }
  std::size_t numel = 1;
  InlineTensor out;
  for (const auto& d : shape) {
    if (!d.is_number_unsigned() || d.get<std::uint64_t>() > k_max_inline_elements) {
      throw std::invalid_argument(fmt::format("'shape' dims must be whole numbers 0 to {}", k_max_inline_elements));
    }
    numel *= d.get<std::size_t>();
    if (numel > k_max_inline_elements) {
      throw std::invalid_argument(fmt::format("an inline input holds at most {} elements", k_max_inline_elements));
    }
    out.shape.push_back(d.get<std::int64_t>());
  }
  if (!values.is_array() || values.size() != numel) {
    throw std::invalid_argument(fmt::format("'values' must list the {} elements of the shape", numel));
  }
  out.values.reserve(numel);
  for (const auto& v : values) {
    if (!v.is_number()) throw std::invalid_argument("'values' must be numbers");
    const double x = v.get<double>();
    if (!std::isfinite(static_cast<float>(x))) throw std::invalid_argument("'values' must fit in a float");
    out.values.push_back(static_cast<float>(x));
  }
  t = std::move(out);
}

void to_json(nlohmann::json& j, const PlanChoice& c) { j = to_string(c); }

void from_json(const nlohmann::json& j, PlanChoice& c) {
  if (!j.is_string()) throw std::invalid_argument("expected auto, edge_only, cloud_only, split:K or cut:NODES");
  c = parse_plan_choice(j.get<std::string>());
}

void to_json(nlohmann::json& j, const PlanningMode& m) { j = to_string(m); }

void from_json(const nlohmann::json& j, PlanningMode& m) {
  for (PlanningMode v : {PlanningMode::light, PlanningMode::heavy, PlanningMode::timeline, PlanningMode::batch}) {
    if (j == to_string(v)) {
      m = v;
      return;
    }
  }
  throw std::invalid_argument("expected light, heavy, timeline or batch");
}

Request parse_request(std::string_view line, const LineLimits& limits) {
  nlohmann::json j = parse_json(line, limits);
  if (!j.is_object()) {
    throw ProtocolError(fmt::format("a request must be a JSON object, not {}", describe_json_type(j)));
  }
  std::string op = "submit";
  if (const auto it = j.find("op"); it != j.end()) {
    if (!it->is_string()) {
      throw ProtocolError(fmt::format("field 'op' must be a string, not {}", describe_json_type(*it)));
    }
    op = it->get<std::string>();
    j.erase(it);
  }
  if (op == "status") {
    if (!j.empty()) throw ProtocolError("a status request takes no other fields");
    return StatusRequest{};
  }
  if (op == "auth") {
    const auto it = j.find("token");
    if (j.size() != 1 || it == j.end() || !it->is_string()) {
      throw ProtocolError("an auth request is {\"op\": \"auth\", \"token\": \"...\"}");
    }
    return AuthRequest{it->get<std::string>()};
  }
  if (op != "submit") {
    throw ProtocolError(fmt::format("unknown op (known: submit, status, auth)"));
  }
  TaskSpec task = strict_from_json<TaskSpec>(j, "task");
  validate(task);
  return task;
}

std::optional<std::uint64_t> task_id_of(std::string_view line, const LineLimits& limits) {
  if (nests_deeper_than(line, limits.max_depth)) return std::nullopt;
  const auto j = nlohmann::json::parse(line, nullptr, false);
  if (!j.is_object()) return std::nullopt;
  const auto it = j.find("task");
  if (it == j.end() || !it->is_number_unsigned()) return std::nullopt;
  return it->get<std::uint64_t>();
}

std::string to_line(const TaskSpec& task) { return dump_line(task); }
std::string to_line(const TaskResult& result) { return dump_line(result); }
std::string to_line(const Status& status) { return dump_line(status); }
std::string to_line(const ErrorReply& error) { return dump_line(error); }
std::string status_request_line() { return R"({"op":"status"})"; }
std::string auth_request_line(const std::string& token) {
  return dump_line(nlohmann::json{{"op", "auth"}, {"token", token}});
}

Reply parse_reply(std::string_view line, const LineLimits& limits) {
  nlohmann::json j;
  try {
    j = parse_json(line, limits);  // the depth bound and the errors of a request's parse
  } catch (const ProtocolError& e) {
    throw ProtocolError(fmt::format("the daemon sent a line that does not parse: {}", e.what()));
  }
  if (!j.is_object()) throw ProtocolError("the daemon sent a line that is not a JSON object");
  try {
    // Checked like a request, but fields this client does not know are
    // skipped: a newer daemon may add some.
    constexpr auto skip = UnknownFields::ignore;
    const auto op = j.find("op");
    if (op != j.end() && *op == "status") return strict_from_json<Status>(j, "status reply", skip);
    if (!j.contains("model")) return strict_from_json<ErrorReply>(j, "error reply", skip);
    return strict_from_json<TaskResult>(j, "result", skip);
  } catch (const std::exception& e) {
    throw ProtocolError(fmt::format("the daemon sent a line that does not parse: {}", e.what()));
  }
}

}  // namespace tandem::control
