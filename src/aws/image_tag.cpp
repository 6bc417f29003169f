#include "aws/image_tag.hpp"

#include <algorithm>

namespace ecr::aws {

bool is_valid_image_tag(std::string_view tag) noexcept {
  if (tag.empty() || tag.size() > kMaxImageTagLength) return false;
  auto word = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
  };
  if (!word(tag.front())) return false;
  return std::all_of(tag.begin() + 1, tag.end(),
                     [&](char c) { return word(c) || c == '.' || c == '-'; });
}

}  // namespace ecr::aws
