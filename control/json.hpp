#pragma once
// JSON plumbing for the control protocol: std::optional as null, strict
// parsing of a struct whose fields are declared once with nlohmann's
// NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT, and safe serialisation.

#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace nlohmann {
/// std::optional<T> travels as T or null.
template <typename T>
struct adl_serializer<std::optional<T>> {
  static void to_json(json& j, const std::optional<T>& value) {
    if (value) {
      j = *value;
    } else {
      j = nullptr;
    }
  }
  static void from_json(const json& j, std::optional<T>& value) {
    if (j.is_null()) {
      value.reset();
    } else {
      value = j.get<T>();
    }
  }
};
}  // namespace nlohmann

namespace tandem::control {

/// One line of the control protocol that could not be accepted; the text
/// names the field and what is wrong. Becomes {"ok": false, "error": ...}.
class ProtocolError : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

/// A JSON type name for messages ("a string", "a whole number >= 0", ...).
std::string_view describe_json_type(const nlohmann::json& example);

/// True when `value` has the JSON type `example` has (a non-negative integer
/// for an unsigned example, any number for a float one; null examples accept
/// anything).
bool same_json_type(const nlohmann::json& example, const nlohmann::json& value);

/// What strict_from_json does with a key its type does not declare.
enum class UnknownFields {
  refuse,  // requests: a typo is an error, never a silently ignored field
  ignore,  // replies: a newer daemon may add fields an older client skips
};

/// Checks `value` against the JSON of a default T (`example`) before any
/// conversion runs, recursing into nested objects: every value must have its
/// field's type; a number must be finite with magnitude below 2^63 (so no
/// conversion to an integer or float field is out of range); a number with a
/// fraction or exponent in an optional (null-example) field must be >= 0 —
/// every optional number of the protocol is a count, a time or a fraction.
/// Throws ProtocolError naming the field (`what` prefixes it).
void check_json_fields(const nlohmann::json& example, const nlohmann::json& value, std::string_view what,
                       UnknownFields unknown);

/// Parses `j` into T strictly: `j` must be an object; every key must be one of
/// T's fields (or is skipped, with UnknownFields::ignore); every value must
/// pass check_json_fields and convert (enums and other custom types throw
/// std::invalid_argument on a bad value). Fields absent from `j` keep T's
/// defaults. Throws ProtocolError naming the field.
template <typename T>
T strict_from_json(const nlohmann::json& j, std::string_view what,
                   UnknownFields unknown = UnknownFields::refuse) {
  if (!j.is_object()) {
    throw ProtocolError(fmt::format("{} must be a JSON object, not {}", what, describe_json_type(j)));
  }
  const nlohmann::json defaults = T{};
  check_json_fields(defaults, j, what, unknown);
  for (const auto& [key, value] : j.items()) {
    if (!defaults.contains(key)) continue;
    try {
      T probe{};
      from_json(nlohmann::json::object({{key, value}}), probe);
    } catch (const std::exception& e) {
      throw ProtocolError(fmt::format("{} field '{}': {}", what, key, e.what()));
    }
  }
  T out{};
  from_json(j, out);  // absent and unknown keys: T's defaults
  return out;
}

/// j.dump() that never throws on invalid UTF-8 in strings (it is replaced by
/// U+FFFD): what the daemon echoes back may contain a peer's bytes.
std::string dump_line(const nlohmann::json& j);

}  // namespace tandem::control
