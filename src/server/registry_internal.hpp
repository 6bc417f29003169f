// Pieces the Registry's implementation files share; not part of its contract.
#pragma once

#include <string>
#include <vector>

#include "ecr/service_errors.hpp"
#include "server/registry.hpp"

namespace ecr::server {

struct Registry::RepoRow {
  std::int64_t id = 0;
  RepositoryInfo info;
  std::optional<std::string> policy;
  std::optional<std::string> lifecycle_policy;
  std::optional<std::int64_t> lifecycle_evaluated_at;
};

// ECR's default page size for DescribeRepositories, ListImages, DescribeImages.
inline constexpr std::int64_t kDefaultPageSize = 100;

inline std::int64_t to_ms(Timestamp t) { return t.time_since_epoch().count(); }
inline Timestamp from_ms(std::int64_t ms) { return Timestamp(std::chrono::milliseconds(ms)); }

// An image's ImageStatus from its stored storage class and the end of its
// last restore (registry_archive.cpp).
std::string image_status(const std::string& storage_class,
                         const std::optional<std::int64_t>& activated_at_ms, std::int64_t now_ms);

// Whether `table` has `column` (schema migrations at open).
bool has_column(sql::Database& db, std::string_view table, std::string_view column);

// A list of values without commas (template scenarios, tag-mutability
// filters) in one column: "a,b"; an empty list is NULL.
inline std::optional<std::string> join_list(const std::vector<std::string>& values) {
  if (values.empty()) return std::nullopt;
  std::string out;
  for (const auto& v : values) {
    if (!out.empty()) out += ',';
    out += v;
  }
  return out;
}
inline std::vector<std::string> split_list(std::string_view text) {
  std::vector<std::string> out;
  while (!text.empty()) {
    const auto comma = text.find(',');
    out.emplace_back(text.substr(0, comma));
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  return out;
}

// Cuts one page out of `all` (a stable ordering) and sets `next_token` when
// more remain.
template <class T>
std::vector<T> take_page(std::vector<T> all, const Page& page,
                         std::optional<std::string>& next_token) {
  std::size_t offset = page.next_token ? decode_page_token(*page.next_token) : 0;
  std::size_t limit = static_cast<std::size_t>(page.max_results.value_or(kDefaultPageSize));
  next_token.reset();
  if (offset >= all.size()) return {};
  std::vector<T> out;
  for (std::size_t i = offset; i < all.size() && out.size() < limit; ++i)
    out.push_back(std::move(all[i]));
  if (offset + out.size() < all.size()) next_token = encode_page_token(offset + out.size());
  return out;
}

}  // namespace ecr::server
