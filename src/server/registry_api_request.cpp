#include "server/registry_api_request.hpp"

#include <charconv>

#include "core/base64.hpp"
#include "ecr/error.hpp"
#include "http/transport.hpp"

namespace ecr::server {
namespace {

constexpr std::string_view kApiPathPrefix = "/v2/";
// Longer than any password GetAuthorizationToken issues (registry_token.hpp).
constexpr std::size_t kMaxPasswordBytes = 1024;

bool is_lower_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

}  // namespace

std::optional<RegistryApiRoute> parse_registry_api_path(std::string_view path) {
  using Kind = RegistryApiRoute::Kind;
  if (path == "/v2" || path == "/v2/") return RegistryApiRoute{Kind::kBase, {}, {}};
  if (!path.starts_with(kApiPathPrefix)) return std::nullopt;
  const std::string_view rest = path.substr(kApiPathPrefix.size());
  auto route = [](Kind kind, std::string_view name, std::string_view reference) {
    return RegistryApiRoute{kind, std::string(name), std::string(reference)};
  };
  // Each form by its last route word, so names holding such words parse.
  for (std::string_view tail : {"/tags/list", "/blobs/uploads/", "/blobs/uploads"}) {
    if (rest.size() > tail.size() && rest.ends_with(tail)) {
      return route(tail == "/tags/list" ? Kind::kTags : Kind::kUploadStart,
                   rest.substr(0, rest.size() - tail.size()), {});
    }
  }
  const std::size_t slash = rest.rfind('/');
  if (slash == std::string_view::npos || slash == 0) return std::nullopt;
  const std::string_view last = rest.substr(slash + 1);
  const std::string_view before = rest.substr(0, slash);
  if (last.empty()) return std::nullopt;
  for (auto [word, kind] : {std::pair{std::string_view("/blobs/uploads"), Kind::kUpload},
                            std::pair{std::string_view("/blobs"), Kind::kBlob},
                            std::pair{std::string_view("/manifests"), Kind::kManifest},
                            std::pair{std::string_view("/referrers"), Kind::kReferrers}}) {
    if (before.size() > word.size() && before.ends_with(word)) {
      return route(kind, before.substr(0, before.size() - word.size()), last);
    }
  }
  return std::nullopt;
}

bool is_valid_repository_name(std::string_view name) noexcept {
  if (name.size() < 2 || name.size() > 256) return false;
  bool after_separator = true;  // at a component's start, or after . _ -
  for (char c : name) {
    if (is_lower_alnum(c)) {
      after_separator = false;
    } else if (c == '.' || c == '_' || c == '-' || c == '/') {
      if (after_separator) return false;
      after_separator = true;
    } else {
      return false;
    }
  }
  return !after_separator;
}

std::optional<ChunkRange> parse_chunk_range(std::string_view text) {
  if (text.starts_with("bytes ")) text.remove_prefix(6);
  if (text.starts_with("bytes=")) text.remove_prefix(6);
  const std::size_t dash = text.find('-');
  if (dash == std::string_view::npos) return std::nullopt;
  ChunkRange range;
  auto parse = [](std::string_view digits, std::uint64_t& out) {
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), out);
    return !digits.empty() && ec == std::errc() && end == digits.data() + digits.size();
  };
  if (!parse(text.substr(0, dash), range.first) || !parse(text.substr(dash + 1), range.last) ||
      range.last < range.first) {
    return std::nullopt;
  }
  return range;
}

std::vector<std::string> accepted_media_types(const HttpRequest& request) {
  std::vector<std::string> out;
  for (const auto& [name, value] : request.headers) {
    if (!http::equal_ignoring_case(name, "Accept")) continue;
    std::string_view rest = value;
    while (!rest.empty()) {
      const std::size_t comma = rest.find(',');
      std::string_view item = rest.substr(0, comma);
      rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
      item = item.substr(0, item.find(';'));
      while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
      while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
      if (!item.empty()) out.emplace_back(item);
    }
  }
  return out;
}

std::optional<std::string> basic_auth_password(std::string_view authorization) {
  constexpr std::string_view kScheme = "Basic ";
  if (authorization.size() < kScheme.size() ||
      !http::equal_ignoring_case(authorization.substr(0, kScheme.size()), kScheme)) {
    return std::nullopt;
  }
  std::string_view encoded = authorization.substr(kScheme.size());
  while (!encoded.empty() && encoded.front() == ' ') encoded.remove_prefix(1);
  while (!encoded.empty() && encoded.back() == ' ') encoded.remove_suffix(1);
  if (encoded.size() > 4 * kMaxPasswordBytes) return std::nullopt;
  std::string decoded;
  try {
    decoded = base64::decode(encoded);
  } catch (const InputError&) {
    return std::nullopt;
  }
  constexpr std::string_view kUser = "AWS:";
  if (!std::string_view(decoded).starts_with(kUser)) return std::nullopt;
  return decoded.substr(kUser.size());
}

}  // namespace ecr::server
