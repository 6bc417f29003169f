// Deterministic pseudo-random bytes for tests: the same (size, seed) gives the
// same bytes everywhere, and they do not compress (an LCG's high bytes).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace ecr::testing {

inline std::string pattern(std::size_t size, char seed) {
  std::string s(size, '\0');
  std::uint32_t x = static_cast<std::uint32_t>(seed);
  for (auto& c : s) {
    x = x * 1103515245u + 12345u;
    c = static_cast<char>(x >> 16);
  }
  return s;
}

}  // namespace ecr::testing
