// The model's `pattern` constraints as compiled regular expressions.
#pragma once

#include <cstddef>
#include <string_view>

namespace ecr::api::model {

// Values longer than this fail a pattern without running the regex:
// libstdc++'s matcher recurses per character and would exhaust the stack on
// a hostile multi-megabyte value, and no patterned shape in the model allows
// more than 2048 characters (KmsKeyForRepositoryCreationTemplate).
inline constexpr std::size_t kMaxPatternInput = 4096;

// Compiles `pattern` (ECMAScript grammar, as the model's patterns are written)
// into the process-wide cache unless it is there already; thread-safe. Throws
// std::regex_error for a pattern std::regex cannot compile.
void compile_pattern(std::string_view pattern);

// True when all of `value` matches `pattern` (compiled on first use). AWS
// validates patterns against the whole value, so an unanchored model pattern
// such as "[0-9]{12}" still rejects "1234567890123".
bool matches_pattern(std::string_view pattern, std::string_view value);

}  // namespace ecr::api::model
