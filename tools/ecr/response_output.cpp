#include "response_output.hpp"

namespace ecr::cli {

using api::model::ShapeInfo;
using api::model::ShapeKind;

JsonValue modeled_part(JsonValue value, const ShapeInfo& shape) {
  switch (shape.kind) {
    case ShapeKind::kStructure: {
      if (!value.is_object()) return value;
      JsonValue::Object kept;
      for (auto& [name, member_value] : value.as_object()) {
        const api::model::MemberInfo* member = shape.find_member(name);
        if (member == nullptr || member_value.is_null()) continue;
        kept.emplace_back(name, modeled_part(std::move(member_value), member->shape()));
      }
      return JsonValue::object(std::move(kept));
    }
    case ShapeKind::kList:
      if (value.is_array()) {
        for (JsonValue& item : value.as_array()) {
          item = modeled_part(std::move(item), api::model::shape_at(shape.element));
        }
      }
      return value;
    case ShapeKind::kMap:
      if (value.is_object()) {
        for (auto& entry : value.as_object()) {
          entry.second = modeled_part(std::move(entry.second), api::model::shape_at(shape.element));
        }
      }
      return value;
    default:
      return value;
  }
}

JsonValue parse_response(std::string_view response_json,
                         const api::model::OperationInfo& operation) {
  JsonValue document =
      parse_service_json(response_json, std::string(operation.name) + " response");
  const ShapeInfo* output = api::model::find_shape(operation.output);
  if (output == nullptr) return JsonValue::object();
  return modeled_part(std::move(document), *output);
}

std::string format_output(const JsonValue& response) {
  if (response.is_object() && response.as_object().empty()) return {};
  return to_pretty_json(response) + "\n";
}

}  // namespace ecr::cli
