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

/// Parses `j` into T strictly: `j` must be an object; every key must be one of
/// T's fields; every value must have its field's type and convert (enums and
/// other custom types throw std::invalid_argument on a bad value). Fields
/// absent from `j` keep T's defaults. Throws ProtocolError naming the field.
template <typename T>
T strict_from_json(const nlohmann::json& j, std::string_view what) {
  if (!j.is_object()) {
    throw ProtocolError(fmt::format("{} must be a JSON object, not {}", what, describe_json_type(j)));
  }
  const nlohmann::json defaults = T{};
  for (const auto& [key, value] : j.items()) {
    const auto known = defaults.find(key);
    if (known == defaults.end()) {
      std::string names;
      for (const auto& [k, v] : defaults.items()) names += (names.empty() ? "" : ", ") + k;
      throw ProtocolError(fmt::format("{}: unknown field '{}' (fields: {})", what,
                                      key.substr(0, 64), names));
    }
    if (!same_json_type(*known, value)) {
      throw ProtocolError(fmt::format("{} field '{}' must be {}, not {}", what, key,
                                      describe_json_type(*known), describe_json_type(value)));
    }
    try {
      T probe{};
      from_json(nlohmann::json::object({{key, value}}), probe);
    } catch (const std::exception& e) {
      throw ProtocolError(fmt::format("{} field '{}': {}", what, key, e.what()));
    }
  }
  T out{};
  from_json(j, out);
  return out;
}

/// j.dump() that never throws on invalid UTF-8 in strings (it is replaced by
/// U+FFFD): what the daemon echoes back may contain a peer's bytes.
std::string dump_line(const nlohmann::json& j);

}  // namespace tandem::control
