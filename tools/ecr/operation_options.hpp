// The options of one `ecr <operation>` command, derived from the operation's
// input shape in the model table: one option per member, named as the AWS CLI
// names it, with a type label and a required mark for --help.
#pragma once

#include <string>
#include <vector>

#include "api/model_table.hpp"

namespace ecr::cli {

struct OptionSpec {
  std::string flag;  // "--repository-name"
  const api::model::MemberInfo* member = nullptr;
  bool required = false;
  // The paginator's own token and page-size members: accepted (and then
  // paging is off) but left out of --help, as the AWS CLI does.
  bool hidden = false;
};

// In the model table's member order. An operation without input has none.
std::vector<OptionSpec> operation_options(const api::model::OperationInfo& operation);

// How --help describes a shape: "string", "integer", "boolean",
// "list of string", "list of ImageIdentifier", "structure", "map", "blob".
std::string type_label(const api::model::ShapeInfo& shape);

// One help line for the option: type, required mark, accepted syntax
// ("JSON or shorthand: imageDigest=string,imageTag=string", "file:// ok").
std::string option_description(const OptionSpec& option);

}  // namespace ecr::cli
