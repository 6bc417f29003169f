// JSON parsing on simdjson's DOM API. Parsers are reused (one per thread) so
// repeated responses do not reallocate; the returned element is valid until
// the same thread parses again with the same parser.
#pragma once

#include <simdjson.h>

#include <cstddef>
#include <string_view>

namespace ecr::json {

// The deepest nesting of arrays and objects a document may have: simdjson's
// DOM default, which every parser here keeps (none is allocated with
// another depth). simdjson parses nesting without recursion and answers a
// deeper document with DEPTH_ERROR, however deep it goes, so a hostile body
// costs no stack; code that walks a parsed document recursively may rely on
// this bound. Real documents (requests, policies, manifests) nest under ten.
inline constexpr std::size_t kMaxDepth = simdjson::DEFAULT_MAX_DEPTH;

// Parses `text` with `parser`. Throws InputError "invalid JSON in <what>:
// <reason>" on malformed input (including trailing garbage and nesting deeper
// than kMaxDepth).
simdjson::dom::element parse(simdjson::dom::parser& parser, std::string_view text,
                             std::string_view what);

// The calling thread's parser.
simdjson::dom::parser& thread_parser();

}  // namespace ecr::json
