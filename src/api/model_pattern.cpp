#include "api/model_pattern.hpp"

#include <map>
#include <memory>
#include <mutex>
#include <string>

namespace ecr::api::model {

const std::regex& compiled_pattern(std::string_view pattern) {
  // A handful of distinct patterns exist (16 in the model), each compiled once;
  // entries are never erased, so references stay valid after the lock drops.
  static std::mutex mutex;
  static std::map<std::string, std::unique_ptr<const std::regex>, std::less<>> cache;
  const std::lock_guard lock(mutex);
  auto it = cache.find(pattern);
  if (it == cache.end()) {
    auto compiled = std::make_unique<const std::regex>(std::string(pattern),
                                                       std::regex::ECMAScript | std::regex::optimize);
    it = cache.emplace(std::string(pattern), std::move(compiled)).first;
  }
  return *it->second;
}

bool matches_pattern(std::string_view pattern, std::string_view value) {
  if (value.size() > kMaxPatternInput) return false;
  return std::regex_match(value.begin(), value.end(), compiled_pattern(pattern));
}

}  // namespace ecr::api::model
