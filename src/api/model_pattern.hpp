// The model's `pattern` constraints, compiled once and matched in time linear
// in the value (model_pattern.cpp says why not std::regex).
#pragma once

#include <cstddef>
#include <string_view>

namespace ecr::api::model {

// Values longer than this fail a pattern without being matched: no patterned
// shape in the model allows more than 2048 characters
// (KmsKeyForRepositoryCreationTemplate), and a hostile multi-megabyte value
// costs nothing then.
inline constexpr std::size_t kMaxPatternInput = 4096;

// Compiles `pattern` (the ECMAScript grammar the model's patterns are written
// in, less backreferences, lookaround and word boundaries) into the
// process-wide cache unless it is there already; thread-safe. Throws
// std::regex_error for a pattern outside that grammar.
void compile_pattern(std::string_view pattern);

// True when all of `value` matches `pattern` (compiled on first use). AWS
// validates patterns against the whole value, so an unanchored model pattern
// such as "[0-9]{12}" still rejects "1234567890123".
bool matches_pattern(std::string_view pattern, std::string_view value);

}  // namespace ecr::api::model
