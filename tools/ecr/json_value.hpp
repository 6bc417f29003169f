// An ordered, mutable JSON document for the CLI: requests are assembled from
// options, shorthand and --cli-input-json, responses are filtered and merged
// page by page. Object members keep their insertion order, because the AWS CLI
// prints keys in the order it received them.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace ecr::cli {

class JsonValue {
 public:
  using Array = std::vector<JsonValue>;
  using Object = std::vector<std::pair<std::string, JsonValue>>;

  JsonValue() = default;  // null
  static JsonValue boolean(bool b);
  static JsonValue integer(std::int64_t i);
  static JsonValue number(double d);
  static JsonValue string(std::string s);
  static JsonValue array(Array items = {});
  static JsonValue object(Object members = {});

  bool is_null() const noexcept { return std::holds_alternative<std::monostate>(value_); }
  bool is_bool() const noexcept { return std::holds_alternative<bool>(value_); }
  bool is_integer() const noexcept { return std::holds_alternative<std::int64_t>(value_); }
  bool is_number() const noexcept { return std::holds_alternative<double>(value_); }
  bool is_string() const noexcept { return std::holds_alternative<std::string>(value_); }
  bool is_array() const noexcept { return std::holds_alternative<Array>(value_); }
  bool is_object() const noexcept { return std::holds_alternative<Object>(value_); }

  // Accessors require the matching kind (std::bad_variant_access otherwise).
  bool as_bool() const { return std::get<bool>(value_); }
  std::int64_t as_integer() const { return std::get<std::int64_t>(value_); }
  double as_number() const { return std::get<double>(value_); }
  const std::string& as_string() const { return std::get<std::string>(value_); }
  const Array& as_array() const { return std::get<Array>(value_); }
  Array& as_array() { return std::get<Array>(value_); }
  const Object& as_object() const { return std::get<Object>(value_); }
  Object& as_object() { return std::get<Object>(value_); }

  // Objects only: the member named `key`, or nullptr.
  const JsonValue* find(std::string_view key) const;
  JsonValue* find(std::string_view key);
  // Objects only: replaces the member's value in place, or appends it.
  void set(std::string_view key, JsonValue value);
  // Objects only: removes the member if present.
  void erase(std::string_view key);

  bool operator==(const JsonValue& other) const = default;

 private:
  std::variant<std::monostate, bool, std::int64_t, double, std::string, Array, Object> value_;
};

// Parses JSON text; `what` names the source in the error. Throws UsageError
// ("Invalid JSON in <what>: <reason>") because every JSON text the CLI parses
// this way came from the user. Numbers without fraction or exponent that fit
// int64 stay integers.
JsonValue parse_json(std::string_view text, std::string_view what);
// The same for text that came from the service: a malformed document is an
// InputError (exit 255), not the user's fault.
JsonValue parse_service_json(std::string_view text, std::string_view what);

// Compact JSON, as sent on the wire.
std::string to_compact_json(const JsonValue& value);
// Python's json.dumps(value, indent=4, ensure_ascii=False), what the AWS CLI
// prints; no trailing newline.
std::string to_pretty_json(const JsonValue& value);

}  // namespace ecr::cli
