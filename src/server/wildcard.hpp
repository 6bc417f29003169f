// ECR's wildcard filters: lifecycle rules' tagPatternList, tag-mutability
// exclusion filters and registry scanning-rule filters all match this way.
#pragma once

#include <string_view>

namespace ecr::server {

// True when `text` matches `pattern`, where '*' matches any run of
// characters (none included) and every other character matches itself.
// Linear for the few wildcards ECR allows in a pattern.
bool wildcard_match(std::string_view pattern, std::string_view text) noexcept;

}  // namespace ecr::server
