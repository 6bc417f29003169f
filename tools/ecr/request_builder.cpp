#include "request_builder.hpp"

#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "core/base64.hpp"
#include "option_names.hpp"
#include "shorthand.hpp"
#include "usage_error.hpp"

namespace ecr::cli {
namespace {

using api::model::MemberInfo;
using api::model::ShapeInfo;
using api::model::ShapeKind;

bool starts_with_bracket(const std::string& value, char bracket) {
  const std::size_t first = value.find_first_not_of(" \t\r\n");
  return first != std::string::npos && value[first] == bracket;
}

std::string expand_home(const std::string& path) {
  if (path.size() >= 1 && path[0] == '~' && (path.size() == 1 || path[1] == '/')) {
    if (const char* home = std::getenv("HOME")) return std::string(home) + path.substr(1);
  }
  return path;
}

JsonValue scalar_value(const ShapeInfo& shape, const std::string& text) {
  switch (shape.kind) {
    case ShapeKind::kInteger:
    case ShapeKind::kLong: {
      std::int64_t n = 0;
      const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
      if (ec != std::errc() || end != text.data() + text.size()) {
        throw UsageError("invalid integer value: '" + text + "'");
      }
      return JsonValue::integer(n);
    }
    case ShapeKind::kDouble:
    case ShapeKind::kTimestamp: {
      // Timestamps go on the awsJson wire as epoch seconds.
      char* end = nullptr;
      const double d = std::strtod(text.c_str(), &end);
      if (text.empty() || end != text.c_str() + text.size()) {
        throw UsageError("invalid number value: '" + text + "'");
      }
      return JsonValue::number(d);
    }
    case ShapeKind::kBoolean: {
      // awscli: "false" (any case) is false, any other text true.
      std::string lower;
      for (char c : text) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      return JsonValue::boolean(lower != "false");
    }
    default:
      return JsonValue::string(text);
  }
}

// A structure, map or list item given as JSON ({...}) or shorthand.
JsonValue complex_value(const ShapeInfo& shape, const std::string& text) {
  if (starts_with_bracket(text, '{')) return parse_json(text, "parameter");
  if (shape.kind == ShapeKind::kStructure && shape.members.size() == 1 &&
      shape.members[0].name == "Value" && shape.members[0].shape().kind == ShapeKind::kString &&
      text.find('=') == std::string::npos) {
    // awscli's special case: a lone word for a {"Value": ...} structure.
    return JsonValue::object({{"Value", JsonValue::string(text)}});
  }
  return coerce_shorthand(parse_shorthand(text), shape);
}

// Blob members travel base64-encoded in awsJson; the user gives raw text
// (botocore encodes str and bytes values the same way).
void encode_blobs(JsonValue& value, const ShapeInfo& shape) {
  switch (shape.kind) {
    case ShapeKind::kBlob:
      if (value.is_string()) value = JsonValue::string(base64::encode(value.as_string()));
      return;
    case ShapeKind::kStructure:
      if (!value.is_object()) return;
      for (auto& [name, member_value] : value.as_object()) {
        if (const MemberInfo* member = shape.find_member(name)) {
          encode_blobs(member_value, member->shape());
        }
      }
      return;
    case ShapeKind::kList:
      if (!value.is_array()) return;
      for (JsonValue& item : value.as_array()) {
        encode_blobs(item, api::model::shape_at(shape.element));
      }
      return;
    case ShapeKind::kMap:
      if (!value.is_object()) return;
      for (auto& entry : value.as_object()) {
        encode_blobs(entry.second, api::model::shape_at(shape.element));
      }
      return;
    default:
      return;
  }
}

}  // namespace

std::string resolve_param_file(const std::string& value) {
  std::string path;
  if (value.starts_with("file://")) {
    path = value.substr(7);
  } else if (value.starts_with("fileb://")) {
    path = value.substr(8);
  } else {
    return value;
  }
  path = expand_home(path);
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw UsageError("Unable to load paramfile " + value + ": " + std::strerror(errno));
  }
  std::ostringstream contents;
  contents << in.rdbuf();
  return contents.str();
}

JsonValue member_value(const MemberInfo& member, const std::string& flag,
                       const std::vector<std::string>& raw_values) {
  try {
    std::vector<std::string> values;
    for (const std::string& raw : raw_values) values.push_back(resolve_param_file(raw));
    const ShapeInfo& shape = member.shape();
    if (values.empty()) throw UsageError("expected one argument");
    if (shape.kind == ShapeKind::kList) {
      if (values.size() == 1 && starts_with_bracket(values[0], '[')) {
        return parse_json(values[0], "parameter");
      }
      const ShapeInfo& element = api::model::shape_at(shape.element);
      JsonValue::Array items;
      for (const std::string& value : values) {
        const bool complex = element.kind == ShapeKind::kStructure ||
                             element.kind == ShapeKind::kMap || element.kind == ShapeKind::kList;
        items.push_back(complex ? complex_value(element, value)
                                : scalar_value(element, value));
      }
      return JsonValue::array(std::move(items));
    }
    if (values.size() > 1) {
      throw UsageError("expected one argument, got " + std::to_string(values.size()));
    }
    if (shape.kind == ShapeKind::kStructure || shape.kind == ShapeKind::kMap) {
      return complex_value(shape, values[0]);
    }
    return scalar_value(shape, values[0]);
  } catch (const UsageError& e) {
    throw UsageError("Error parsing parameter '" + flag + "': " + e.what());
  }
}

JsonValue build_request(const api::model::OperationInfo& operation,
                        const RequestArguments& arguments) {
  const ShapeInfo* input = api::model::find_shape(operation.input);
  JsonValue request = JsonValue::object();
  if (arguments.cli_input_json) {
    std::string text;
    try {
      text = resolve_param_file(*arguments.cli_input_json);
    } catch (const UsageError& e) {
      throw UsageError(std::string("Error parsing parameter '--cli-input-json': ") + e.what());
    }
    request = parse_json(text, "--cli-input-json");
    if (!request.is_object()) {
      throw UsageError("Invalid JSON received for --cli-input-json: expected a JSON object");
    }
  }
  for (const MemberArgument& argument : arguments.members) {
    request.set(argument.member->name,
                member_value(*argument.member, argument.flag, argument.values));
  }
  if (input == nullptr) return request;
  std::string missing;
  for (const MemberInfo& member : input->members) {
    if (member.required && request.find(member.name) == nullptr) {
      missing += (missing.empty() ? "--" : ", --") + kebab_case(member.name);
    }
  }
  if (!missing.empty()) throw UsageError("the following arguments are required: " + missing);
  encode_blobs(request, *input);
  return request;
}

}  // namespace ecr::cli
