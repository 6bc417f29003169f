#include "api/validate.hpp"

#include <string>
#include <vector>

#include "api/model_pattern.hpp"
#include "api/model_table.hpp"
#include "core/json_reader.hpp"

namespace ecr::api {
namespace {

using model::ShapeInfo;
using model::ShapeKind;

// Values quoted in messages are cut here: an error about a 20 MiB blob or a
// megabyte policy should not be a megabyte itself.
constexpr std::size_t kMaxQuotedValue = 256;

struct Violation {
  std::string member;
  std::string constraint;
  std::string text;  // "Value 'A' at 'repositoryName' failed to satisfy constraint: ..."
};

std::string quoted(std::string text) {
  if (text.size() > kMaxQuotedValue) {
    text.resize(kMaxQuotedValue);
    text += "...";
  }
  return "'" + text + "'";
}

std::string quoted(simdjson::dom::element e) {
  std::string_view s;
  if (e.get_string().get(s) == simdjson::SUCCESS) return quoted(std::string(s));
  return quoted(simdjson::minify(e));
}

// String lengths are counted as the service counts them: UTF-16 code units
// (Java's String.length()), so a character outside the BMP counts twice.
std::int64_t utf16_length(std::string_view s) {
  std::int64_t n = 0;
  for (const char c : s) {
    const auto byte = static_cast<unsigned char>(c);
    if ((byte & 0xC0) != 0x80) ++n;       // a lead byte starts a code point
    if ((byte & 0xF8) == 0xF0) ++n;       // four-byte sequences need a surrogate pair
  }
  return n;
}

// Decoded size of base64 text, or -1 when the text cannot be base64.
std::int64_t base64_decoded_size(std::string_view s) {
  if (s.size() % 4 != 0) return -1;
  std::int64_t n = static_cast<std::int64_t>(s.size() / 4 * 3);
  if (!s.empty() && s.back() == '=') --n;
  if (s.size() > 1 && s[s.size() - 2] == '=') --n;
  return n;
}

std::string join_enum(const ShapeInfo& shape) {
  std::string out = "[";
  for (std::size_t i = 0; i < shape.enum_values.size(); ++i) {
    if (i) out += ", ";
    out += shape.enum_values[i];
  }
  return out + "]";
}

class Validator {
 public:
  std::vector<Violation> violations;

  void check(const ShapeInfo& shape, simdjson::dom::element e, const std::string& path) {
    switch (shape.kind) {
      case ShapeKind::kStructure: return check_structure(shape, e, path);
      case ShapeKind::kString: return check_string(shape, e, path);
      case ShapeKind::kBlob: return check_blob(shape, e, path);
      case ShapeKind::kInteger:
      case ShapeKind::kLong: return check_integer(shape, e, path);
      case ShapeKind::kDouble:
        if (!e.is_number()) type_error(e, path, "a number");
        return;
      case ShapeKind::kTimestamp:
        if (!e.is_number()) type_error(e, path, "a timestamp in epoch seconds");
        return;
      case ShapeKind::kBoolean:
        if (!e.is_bool()) type_error(e, path, "a boolean");
        return;
      case ShapeKind::kList: return check_list(shape, e, path);
      case ShapeKind::kMap: return check_map(shape, e, path);
    }
  }

 private:
  void add(const std::string& path, std::string constraint, std::string value, std::string rule) {
    violations.push_back({path, std::move(constraint),
                          "Value " + value + " at '" + path +
                              "' failed to satisfy constraint: Member must " + rule});
  }

  void type_error(simdjson::dom::element e, const std::string& path, std::string_view what) {
    add(path, "type", quoted(e), "be " + std::string(what));
  }

  // `quote` renders the value, only when there is something to report.
  template <class Quote>
  void check_length(const ShapeInfo& shape, const Quote& quote, const std::string& path,
                    std::int64_t length, std::string_view min_name, std::string_view max_name) {
    if (shape.min && length < *shape.min) {
      add(path, std::string(min_name), quote(),
          "have length greater than or equal to " + std::to_string(*shape.min));
    }
    if (shape.max && length > *shape.max) {
      add(path, std::string(max_name), quote(),
          "have length less than or equal to " + std::to_string(*shape.max));
    }
  }

  void check_structure(const ShapeInfo& shape, simdjson::dom::element e, const std::string& path) {
    simdjson::dom::object object;
    if (e.get_object().get(object) != simdjson::SUCCESS) return type_error(e, path, "an object");
    for (const model::MemberInfo& member : shape.members) {
      const std::string member_path =
          path.empty() ? std::string(member.name) : path + "." + std::string(member.name);
      simdjson::dom::element value;
      const bool present =
          object.at_key(member.name).get(value) == simdjson::SUCCESS && !value.is_null();
      if (!present) {
        if (member.required) {
          violations.push_back({member_path, "required",
                                "Value null at '" + member_path +
                                    "' failed to satisfy constraint: Member must not be null"});
        }
        continue;
      }
      check(member.shape(), value, member_path);
    }
  }

  void check_string(const ShapeInfo& shape, simdjson::dom::element e, const std::string& path) {
    std::string_view s;
    if (e.get_string().get(s) != simdjson::SUCCESS) return type_error(e, path, "a string");
    check_string_value(shape, s, path);
  }

  void check_string_value(const ShapeInfo& shape, std::string_view s, const std::string& path) {
    const auto quote = [s] { return quoted(std::string(s)); };
    check_length(shape, quote, path, utf16_length(s), "min length", "max length");
    if (!shape.pattern.empty() && !model::matches_pattern(shape.pattern, s)) {
      add(path, "pattern", quote(),
          "satisfy regular expression pattern: " + std::string(shape.pattern));
    }
    if (!shape.enum_values.empty()) {
      bool known = false;
      for (const std::string_view v : shape.enum_values) known = known || v == s;
      if (!known) add(path, "enum", quote(), "satisfy enum value set: " + join_enum(shape));
    }
  }

  void check_blob(const ShapeInfo& shape, simdjson::dom::element e, const std::string& path) {
    std::string_view s;
    if (e.get_string().get(s) != simdjson::SUCCESS) return type_error(e, path, "base64 text");
    const std::int64_t size = base64_decoded_size(s);
    if (size < 0) return type_error(e, path, "base64 text");
    // The bytes themselves are not worth quoting; their size is what is wrong.
    const std::string value = "'<" + std::to_string(size) + " bytes>'";
    if (shape.min && size < *shape.min) {
      add(path, "min length", value,
          "have length greater than or equal to " + std::to_string(*shape.min));
    }
    if (shape.max && size > *shape.max) {
      add(path, "max length", value,
          "have length less than or equal to " + std::to_string(*shape.max));
    }
  }

  void check_integer(const ShapeInfo& shape, simdjson::dom::element e, const std::string& path) {
    std::int64_t v = 0;
    if (e.get_int64().get(v) != simdjson::SUCCESS) return type_error(e, path, "an integer");
    const std::string value = "'" + std::to_string(v) + "'";
    if (shape.min && v < *shape.min) {
      add(path, "min", value, "have value greater than or equal to " + std::to_string(*shape.min));
    }
    if (shape.max && v > *shape.max) {
      add(path, "max", value, "have value less than or equal to " + std::to_string(*shape.max));
    }
  }

  void check_list(const ShapeInfo& shape, simdjson::dom::element e, const std::string& path) {
    simdjson::dom::array array;
    if (e.get_array().get(array) != simdjson::SUCCESS) return type_error(e, path, "a list");
    check_length(shape, [e] { return quoted(e); }, path, static_cast<std::int64_t>(array.size()), "min items",
                 "max items");
    const ShapeInfo& item_shape = model::shape_at(shape.element);
    std::size_t i = 0;
    for (const simdjson::dom::element item : array) {
      const std::string item_path = path + "[" + std::to_string(i++) + "]";
      if (item.is_null()) {
        violations.push_back({item_path, "required",
                              "Value null at '" + item_path +
                                  "' failed to satisfy constraint: Member must not be null"});
        continue;
      }
      check(item_shape, item, item_path);
    }
  }

  void check_map(const ShapeInfo& shape, simdjson::dom::element e, const std::string& path) {
    simdjson::dom::object object;
    if (e.get_object().get(object) != simdjson::SUCCESS) return type_error(e, path, "a map");
    check_length(shape, [e] { return quoted(e); }, path, static_cast<std::int64_t>(object.size()), "min items",
                 "max items");
    const ShapeInfo& key_shape = model::shape_at(shape.key);
    const ShapeInfo& value_shape = model::shape_at(shape.element);
    for (const auto field : object) {
      const std::string entry_path = path + "." + std::string(field.key);
      check_string_value(key_shape, field.key, entry_path);
      if (field.value.is_null()) continue;
      check(value_shape, field.value, entry_path);
    }
  }
};

[[noreturn]] void throw_violations(const std::vector<Violation>& violations) {
  std::string message = std::to_string(violations.size()) +
                        (violations.size() == 1 ? " validation error detected: "
                                                : " validation errors detected: ");
  for (std::size_t i = 0; i < violations.size(); ++i) {
    if (i) message += "; ";
    message += violations[i].text;
  }
  throw ValidationError(violations.front().member, violations.front().constraint, message);
}

}  // namespace

void validate_json(std::string_view shape_name, simdjson::dom::element value) {
  const ShapeInfo* shape = model::find_shape(shape_name);
  if (shape == nullptr) {
    throw InputError("the ECR model has no shape named '" + std::string(shape_name) + "'");
  }
  Validator validator;
  validator.check(*shape, value, "");
  if (!validator.violations.empty()) throw_violations(validator.violations);
}

void validate_json_text(std::string_view shape_name, std::string_view json_text) {
  // Its own parser per thread: json::thread_parser() may hold the document the
  // caller is working on (the server validates typed values mid-request).
  thread_local simdjson::dom::parser parser;
  if (json_text.find_first_not_of(" \t\r\n") == std::string_view::npos) json_text = "{}";
  validate_json(shape_name, json::parse(parser, json_text, shape_name));
}

}  // namespace ecr::api
