// The AWS CLI shorthand syntax for structure, map and list-of-structure
// options, ported from awscli/shorthand.py so that what works with `aws ecr`
// works with `ecr`:
//
//   imageTag=latest                       {"imageTag": "latest"}
//   Key=team,Value=infra                  {"Key": "team", "Value": "infra"}
//   names=a,b,c                           {"names": ["a", "b", "c"]}
//   names=[a,b],inner={x=1,y='q,r'}       explicit lists, hashes, quoting
//   a=x\,y                                an escaped comma stays in the value
//
// Values are strings, lists and objects; coerce_shorthand() then turns them
// into the member types of the model, as awscli's BackCompatVisitor does.
#pragma once

#include <string_view>

#include "api/model_table.hpp"
#include "json_value.hpp"

namespace ecr::cli {

// Parses one shorthand value. Throws UsageError naming what was expected,
// what was found and where, e.g. "Expected: '=', received: 'EOF' for input:".
JsonValue parse_shorthand(std::string_view text);

// Converts the strings of a parsed shorthand value to the shape's types:
// integers and longs to numbers, doubles to numbers, "true"/"false" to
// booleans, a lone value where a list is expected to a one-item list.
// Values of unknown members are left as they are (validation reports them).
// Throws UsageError when a number does not parse.
JsonValue coerce_shorthand(JsonValue value, const api::model::ShapeInfo& shape);

}  // namespace ecr::cli
