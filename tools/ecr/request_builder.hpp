// Turns what the user typed for an operation into its request document, the
// way the AWS CLI v1 does: --cli-input-json first, explicit options on top,
// file:// and fileb:// values read from files, structures from JSON or
// shorthand, blobs base64-encoded for the wire, required members enforced.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/model_table.hpp"
#include "json_value.hpp"

namespace ecr::cli {

// The raw strings given after one option: one for scalars and structures,
// one or more for lists; "true"/"false" for boolean flags.
struct MemberArgument {
  const api::model::MemberInfo* member = nullptr;
  std::string flag;  // as typed, for messages: "--image-ids"
  std::vector<std::string> values;
};

struct RequestArguments {
  std::vector<MemberArgument> members;
  std::optional<std::string> cli_input_json;  // JSON text or file://PATH
};

// The request document for `operation`. Throws UsageError for a value that
// does not parse, an unreadable file:// path, --cli-input-json that is not a
// JSON object, and required members left unset ("the following arguments are
// required: --repository-name").
JsonValue build_request(const api::model::OperationInfo& operation,
                        const RequestArguments& arguments);

// One member's value from its raw strings (file:// already allowed).
// Throws UsageError "Error parsing parameter '<flag>': <reason>".
JsonValue member_value(const api::model::MemberInfo& member, const std::string& flag,
                       const std::vector<std::string>& values);

// file://PATH -> the file's text, fileb://PATH -> its bytes, anything else
// unchanged. Throws UsageError when the file cannot be read.
std::string resolve_param_file(const std::string& value);

}  // namespace ecr::cli
