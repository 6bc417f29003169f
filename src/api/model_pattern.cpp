// GCC 12 reports a false -Wmaybe-uninitialized inside libstdc++'s regex
// compiler (std::function moved out of _State) when built with sanitizers;
// the code in question is the standard library's, not ours.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include "api/model_pattern.hpp"

#include <map>
#include <memory>
#include <mutex>
#include <regex>
#include <string>

namespace ecr::api::model {
namespace {

const std::regex& compiled(std::string_view pattern) {
  // A handful of distinct patterns exist (16 in the model), each compiled once;
  // entries are never erased, so references stay valid after the lock drops.
  static std::mutex mutex;
  static std::map<std::string, std::unique_ptr<const std::regex>, std::less<>> cache;
  const std::lock_guard lock(mutex);
  auto it = cache.find(pattern);
  if (it == cache.end()) {
    auto regex = std::make_unique<const std::regex>(std::string(pattern),
                                                    std::regex::ECMAScript | std::regex::optimize);
    it = cache.emplace(std::string(pattern), std::move(regex)).first;
  }
  return *it->second;
}

}  // namespace

void compile_pattern(std::string_view pattern) { compiled(pattern); }

bool matches_pattern(std::string_view pattern, std::string_view value) {
  if (value.size() > kMaxPatternInput) return false;
  return std::regex_match(value.begin(), value.end(), compiled(pattern));
}

}  // namespace ecr::api::model
