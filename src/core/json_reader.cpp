// simdjson DOM parsing with its error codes turned into InputError.
#include "core/json_reader.hpp"

#include <stdexcept>
#include <string>

#include "ecr/error.hpp"

namespace ecr::json {

simdjson::dom::element parse(simdjson::dom::parser& parser, std::string_view text,
                             std::string_view what) {
  if (parser.max_depth() != kMaxDepth) {
    throw std::logic_error("a JSON parser allocated for another nesting depth than kMaxDepth");
  }
  simdjson::dom::element root;
  // realloc_if_needed: the caller's buffer has no SIMDJSON_PADDING, so
  // simdjson copies it into its own padded buffer when it must.
  const simdjson::error_code error = parser.parse(text.data(), text.size(), true).get(root);
  if (error != simdjson::SUCCESS) {
    throw InputError("invalid JSON in " + std::string(what) + ": " +
                     simdjson::error_message(error));
  }
  return root;
}

simdjson::dom::parser& thread_parser() {
  // One per thread: a parser is not thread-safe, and keeping it alive keeps its
  // buffers, so parsing a response allocates nothing once warmed up.
  thread_local simdjson::dom::parser parser;
  return parser;
}

}  // namespace ecr::json
