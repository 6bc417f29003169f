// How the targets that take several inputs at once read them from one fuzz
// input: one field per line, the rest (which may hold newlines) after the
// last. A missing line reads as an empty field, so every input is usable.
#pragma once

#include <cstddef>
#include <string_view>

namespace ecr::fuzz {

// Fills `fields` with the first N lines of `bytes` (without their '\n') and
// returns what follows them.
template <std::size_t N>
std::string_view split_fields(std::string_view bytes, std::string_view (&fields)[N]) {
  std::string_view rest = bytes;
  for (auto& field : fields) {
    const std::size_t newline = rest.find('\n');
    field = rest.substr(0, newline);
    rest = newline == std::string_view::npos ? std::string_view() : rest.substr(newline + 1);
  }
  return rest;
}

}  // namespace ecr::fuzz
