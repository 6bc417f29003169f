#include <algorithm>

#include "ecr/error.hpp"
#include "ecr/manifest.hpp"

namespace ecr {

Platform Platform::parse(std::string_view text) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  while (true) {
    const auto slash = text.find('/', start);
    parts.emplace_back(text.substr(start, slash - start));
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  const bool empty_part =
      std::any_of(parts.begin(), parts.end(), [](const std::string& p) { return p.empty(); });
  if (parts.size() < 2 || parts.size() > 3 || empty_part) {
    throw InputError("platform must be os/arch[/variant], e.g. linux/arm64/v8 (found \"" +
                     std::string(text) + "\")");
  }
  Platform p;
  p.os = parts[0];
  p.architecture = parts[1];
  if (parts.size() == 3) p.variant = parts[2];
  return p;
}

std::string Platform::str() const {
  std::string s = os + "/" + architecture;
  if (!variant.empty()) s += "/" + variant;
  return s;
}

bool Platform::matches(const Platform& wanted) const {
  return os == wanted.os && architecture == wanted.architecture &&
         (wanted.variant.empty() || variant == wanted.variant);
}

}  // namespace ecr
