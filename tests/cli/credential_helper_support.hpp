// Shared by the docker-credential-ecr tests: a scratch directory removed
// afterwards, whole-file reads and writes, and the token cache's files.
#pragma once

#include <stdlib.h>
#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "support/scratch_dir.hpp"

namespace ecr::testing {

// Permission bits of `p` (0 when it does not exist).
inline unsigned file_mode(const std::filesystem::path& p) {
  struct stat st {};
  if (::stat(p.c_str(), &st) != 0) return 0;
  return st.st_mode & 07777;
}

// The token cache's entries (<key>.json) in `dir`, sorted.
inline std::vector<std::filesystem::path> cache_entries(const std::filesystem::path& dir) {
  std::vector<std::filesystem::path> out;
  std::error_code ec;
  for (std::filesystem::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->path().extension() == ".json") out.push_back(it->path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace ecr::testing
