#include "operation_options.hpp"

#include "option_names.hpp"

namespace ecr::cli {

using api::model::ShapeInfo;
using api::model::ShapeKind;

std::vector<OptionSpec> operation_options(const api::model::OperationInfo& operation) {
  std::vector<OptionSpec> options;
  const ShapeInfo* input = api::model::find_shape(operation.input);
  if (input == nullptr) return options;
  for (const api::model::MemberInfo& member : input->members) {
    OptionSpec option;
    option.flag = "--" + kebab_case(member.name);
    option.member = &member;
    option.required = member.required;
    if (operation.paginator) {
      option.hidden = member.name == operation.paginator->input_token ||
                      member.name == operation.paginator->limit_key;
    }
    options.push_back(std::move(option));
  }
  return options;
}

std::string type_label(const ShapeInfo& shape) {
  switch (shape.kind) {
    case ShapeKind::kStructure:
      return "structure";
    case ShapeKind::kString:
      return "string";
    case ShapeKind::kInteger:
      return "integer";
    case ShapeKind::kLong:
      return "long";
    case ShapeKind::kBoolean:
      return "boolean";
    case ShapeKind::kDouble:
      return "double";
    case ShapeKind::kTimestamp:
      return "timestamp";
    case ShapeKind::kBlob:
      return "blob";
    case ShapeKind::kList: {
      const ShapeInfo& element = api::model::shape_at(shape.element);
      if (element.kind == ShapeKind::kStructure) return "list of " + std::string(element.name);
      return "list of " + type_label(element);
    }
    case ShapeKind::kMap:
      return "map";
  }
  return "value";
}

namespace {

// "imageDigest=string,imageTag=string" for a structure of scalars; empty when
// a member is itself structured (then only JSON reads well).
std::string shorthand_hint(const ShapeInfo& structure) {
  std::string hint;
  for (const api::model::MemberInfo& member : structure.members) {
    const ShapeKind kind = member.shape().kind;
    if (kind == ShapeKind::kStructure || kind == ShapeKind::kMap || kind == ShapeKind::kList) {
      return {};
    }
    if (!hint.empty()) hint += ',';
    hint += std::string(member.name) + '=' + type_label(member.shape());
  }
  return hint;
}

}  // namespace

std::string option_description(const OptionSpec& option) {
  const ShapeInfo& shape = option.member->shape();
  std::string text = option.required ? "[required] " : "";
  if (!shape.enum_values.empty()) {
    text += "one of:";
    for (std::string_view value : shape.enum_values) text += " " + std::string(value);
    return text;
  }
  switch (shape.kind) {
    case ShapeKind::kBoolean:
      return text + "flag; --no-" + option.flag.substr(2) + " sends false";
    case ShapeKind::kString:
    case ShapeKind::kBlob:
      return text + "text, or file://PATH to read it from a file";
    case ShapeKind::kList: {
      const ShapeInfo& element = api::model::shape_at(shape.element);
      if (element.kind != ShapeKind::kStructure) return text + "one or more values, or a JSON list";
      const std::string hint = shorthand_hint(element);
      return text + "a JSON list, or one shorthand item per value" +
             (hint.empty() ? "" : ": " + hint);
    }
    case ShapeKind::kStructure: {
      const std::string hint = shorthand_hint(shape);
      return text + "JSON or shorthand" + (hint.empty() ? "" : ": " + hint);
    }
    case ShapeKind::kMap:
      return text + "JSON or shorthand: key=value,...";
    default:
      return text.empty() ? text : text.substr(0, text.size() - 1);
  }
}

}  // namespace ecr::cli
