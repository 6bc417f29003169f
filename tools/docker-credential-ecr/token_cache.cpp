#include "token_cache.hpp"

#include <sys/stat.h>

#include <cerrno>
#include <map>
#include <system_error>

#include "core/file.hpp"
#include "core/json_reader.hpp"
#include "core/json_writer.hpp"
#include "ecr/digest.hpp"
#include "ecr/error.hpp"

namespace ecr::credential_helper {
namespace {

namespace fs = std::filesystem;

constexpr std::int64_t kFormatVersion = 1;
constexpr std::string_view kEntrySuffix = ".json";
// An entry is a host name, a user name and a password (ECR's are about 2 KB):
// anything bigger is not ours and is a miss rather than read into memory.
constexpr std::int64_t kMaxEntryBytes = 64 * 1024;

// "<length>:<bytes>\n", so no choice of field values makes two keys collide.
void put_field(std::string& out, std::string_view value) {
  out += std::to_string(value.size());
  out += ':';
  out += value;
  out += '\n';
}

std::string serialize(const CachedToken& token) {
  std::string out;
  json::Writer w(out);
  w.begin_object();
  w.key("version");
  w.integer(kFormatVersion);
  w.key("server");
  w.string(token.server);
  w.key("username");
  w.string(token.username);
  w.key("password");
  w.string(token.password);
  w.key("expiresAt");
  w.integer(std::chrono::duration_cast<std::chrono::seconds>(token.expires_at.time_since_epoch())
                .count());
  w.end_object();
  out += '\n';
  return out;
}

std::optional<std::string> string_member(simdjson::dom::object entry, std::string_view key) {
  std::string_view value;
  if (entry[key].get_string().get(value) != simdjson::SUCCESS || value.empty()) {
    return std::nullopt;
  }
  return std::string(value);
}

std::optional<CachedToken> parse(std::string_view text) {
  simdjson::dom::object entry;
  try {
    if (json::parse(json::thread_parser(), text, "cache entry").get_object().get(entry) !=
        simdjson::SUCCESS) {
      return std::nullopt;
    }
  } catch (const InputError&) {
    return std::nullopt;
  }
  std::int64_t version = 0;
  std::int64_t expires_at = 0;
  if (entry["version"].get_int64().get(version) != simdjson::SUCCESS || version != kFormatVersion ||
      entry["expiresAt"].get_int64().get(expires_at) != simdjson::SUCCESS) {
    return std::nullopt;
  }
  auto server = string_member(entry, "server");
  auto username = string_member(entry, "username");
  auto password = string_member(entry, "password");
  if (!server || !username || !password) return std::nullopt;
  return CachedToken{std::move(*server), std::move(*username), std::move(*password),
                     Clock::time_point(std::chrono::seconds(expires_at))};
}

std::optional<CachedToken> read_entry(const fs::path& path) {
  try {
    const UniqueFd fd = open_regular_file(path);
    const std::int64_t size = file_size(fd.get(), path);
    if (size > kMaxEntryBytes) return std::nullopt;
    std::string text(static_cast<std::size_t>(size), '\0');
    std::size_t filled = 0;
    while (filled < text.size()) {
      const std::size_t n = read_some(
          fd.get(), std::as_writable_bytes(std::span(text.data() + filled, text.size() - filled)),
          path);
      if (n == 0) break;
      filled += n;
    }
    text.resize(filled);
    return parse(text);
  } catch (const InputError&) {
    return std::nullopt;
  }
}

// The directory holds passwords: only its owner may list or enter it.
void make_private_directory(const fs::path& dir) {
  std::error_code ec;
  fs::create_directories(dir.parent_path(), ec);
  if (ec) throw InputError("cannot create " + dir.parent_path().string() + ": " + ec.message());
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) throw_file_error("create", dir);
}

bool is_entry(const fs::directory_entry& file) { return file.path().extension() == kEntrySuffix; }

}  // namespace

std::string TokenCache::key(std::string_view server, std::string_view endpoint,
                            std::string_view access_key_id, std::string_view profile) {
  std::string text = "docker-credential-ecr token 1\n";
  put_field(text, server);
  put_field(text, endpoint);
  put_field(text, access_key_id);
  put_field(text, profile);
  return std::string(Digest::of(text).hex());
}

std::optional<CachedToken> TokenCache::load(const std::string& key) const {
  return read_entry(dir_ / (key + std::string(kEntrySuffix)));
}

void TokenCache::store(const std::string& key, const CachedToken& token,
                       Clock::time_point now) const {
  make_private_directory(dir_);
  const fs::path path = dir_ / (key + std::string(kEntrySuffix));
  write_file_atomically(path, serialize(token), 0600);
  // Temporary credentials get a new access key id every session, and each
  // leaves an entry behind: whatever has expired goes here, where a token was
  // just fetched anyway (twice a day per registry at most).
  std::error_code ec;
  for (fs::directory_iterator it(dir_, ec), end; !ec && it != end; it.increment(ec)) {
    if (!is_entry(*it) || it->path() == path) continue;
    const auto entry = read_entry(it->path());
    std::error_code ignored;  // sweeping is tidying up; a failure costs a few bytes
    if (!entry || entry->expires_at <= now) fs::remove(it->path(), ignored);
  }
}

std::vector<CachedToken> TokenCache::list(Clock::time_point now) const {
  std::map<std::string, CachedToken> by_server;
  std::error_code ec;
  for (fs::directory_iterator it(dir_, ec), end; !ec && it != end; it.increment(ec)) {
    if (!is_entry(*it)) continue;
    auto entry = read_entry(it->path());
    if (entry && entry->expires_at > now) by_server.insert_or_assign(entry->server, *entry);
  }
  std::vector<CachedToken> out;
  for (auto& [server, entry] : by_server) out.push_back(std::move(entry));
  return out;
}

}  // namespace ecr::credential_helper
