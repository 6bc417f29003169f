// The image-tag grammar, written once: image references (reference.hpp) and
// ecr-local's PutImage and image lookups both check tags with it.
#pragma once

#include <cstddef>
#include <string_view>

namespace ecr::aws {

// ImageTag in the model: 1 to 300 characters.
inline constexpr std::size_t kMaxImageTagLength = 300;

// True when `tag` is 1 to kMaxImageTagLength characters of Docker's tag
// grammar [A-Za-z0-9_][A-Za-z0-9_.-]*. The model only limits the length; the
// character rule keeps a tag from being confused with a reference's ':' '@'
// '/' separators, and refuses whitespace, control and non-ASCII bytes.
bool is_valid_image_tag(std::string_view tag) noexcept;

}  // namespace ecr::aws
