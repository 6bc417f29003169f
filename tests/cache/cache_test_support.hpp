// Shared by the cache tests: a scratch directory removed afterwards, a
// ByteStream over a string, and mtime helpers.
#pragma once

#include <stdlib.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <span>
#include <sstream>
#include <stdexcept>
#include <string>

#include "ecr/image.hpp"
#include "support/scratch_dir.hpp"
#include "support/string_stream.hpp"

namespace ecr::testing {

// The cache tests read in 7-byte chunks unless they say otherwise: the cache
// must cope with short reads.
inline constexpr std::size_t kShortReads = 7;

inline std::string read_stream(ByteStream& in) {
  std::string out;
  char buffer[4096];
  for (;;) {
    std::size_t n = in.read(std::as_writable_bytes(std::span(buffer)));
    if (n == 0) return out;
    out.append(buffer, n);
  }
}

// A fixed instant `seconds` after 2001-09-09 (1e9 s since the epoch), so LRU
// order is set explicitly instead of by waiting.
inline std::filesystem::file_time_type instant(int seconds) {
  auto sys = std::chrono::system_clock::time_point(std::chrono::seconds(1'000'000'000 + seconds));
  return std::chrono::file_clock::from_sys(sys);
}

}  // namespace ecr::testing
