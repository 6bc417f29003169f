// Checks requests against the model's constraints (required, lengths,
// patterns, enums, numeric ranges, item counts, JSON types), before a request
// leaves the client and when ecr-local receives one.
//
// One implementation, data-driven over the descriptor tables, works on JSON;
// typed values are serialised and checked the same way, so the client, the
// CLI and the server cannot disagree about what is valid.
#pragma once

#include <simdjson.h>

#include <string>
#include <string_view>

#include "api/serde.hpp"
#include "ecr/service_errors.hpp"

namespace ecr::api {

// Validates `value` as an instance of the model shape `shape_name`. Unknown
// members are ignored and null counts as absent. Throws ValidationError
// listing every violation (member()/constraint() describe the first, in model
// order), InputError when the model has no shape of that name.
void validate_json(std::string_view shape_name, simdjson::dom::element value);

// As above on JSON text (parsed with a parser of its own, so elements the
// caller holds from json::thread_parser() stay valid). Malformed JSON throws
// InputError.
void validate_json_text(std::string_view shape_name, std::string_view json_text);

template <class S>
requires requires { S::kShapeName; }
void validate(const S& value) { validate_json_text(S::kShapeName, to_json(value)); }

}  // namespace ecr::api
