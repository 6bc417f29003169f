// JSON parsing on simdjson's DOM API. Parsers are reused (one per thread) so
// repeated responses do not reallocate; the returned element is valid until
// the same thread parses again with the same parser.
#pragma once

#include <simdjson.h>

#include <string_view>

namespace ecr::json {

// Parses `text` with `parser`. Throws InputError "invalid JSON in <what>:
// <reason>" on malformed input (including trailing garbage and nesting deeper
// than 1024 levels).
simdjson::dom::element parse(simdjson::dom::parser& parser, std::string_view text,
                             std::string_view what);

// The calling thread's parser.
simdjson::dom::parser& thread_parser();

}  // namespace ecr::json
