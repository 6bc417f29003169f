// What `ecr` prints for a response: what the AWS CLI v1 prints with
// `--output json`. botocore keeps only the members the model describes and
// drops nulls; the CLI prints that with json.dumps(indent=4) and prints
// nothing at all for an empty response. Timestamps stay as they came on the
// wire (epoch seconds): cli_timestamp_format defaults to "wire" in v1.
#pragma once

#include <string>
#include <string_view>

#include "api/model_table.hpp"
#include "json_value.hpp"

namespace ecr::cli {

// The response document as botocore parses it: members not in `shape` and
// null members removed at every level, received order kept.
JsonValue modeled_part(JsonValue value, const api::model::ShapeInfo& shape);

// Parses a response of `operation` (InputError when it is not JSON) and keeps
// its modeled part.
JsonValue parse_response(std::string_view response_json,
                         const api::model::OperationInfo& operation);

// The text to print: pretty JSON and a newline, or "" for {}.
std::string format_output(const JsonValue& response);

}  // namespace ecr::cli
