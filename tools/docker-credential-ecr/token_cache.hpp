// The registry passwords docker-credential-ecr got from GetAuthorizationToken,
// kept until shortly before they expire so that docker, which asks before
// every pull and push, costs one API call per registry per twelve hours.
//
// One file per (registry server, endpoint, credential identity) in the
// cache directory (<cache root>/credentials, mode 0700), named by a SHA-256
// of those (the identity is the access key id and profile name, never the
// secret key). Each file is JSON, mode 0600, replaced atomically; a file that
// does not parse is a miss and is replaced by the next store.
#pragma once

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ecr::credential_helper {

using Clock = std::chrono::system_clock;

struct CachedToken {
  std::string server;  // host[:port] the token was asked for (what `list` shows)
  std::string username;
  std::string password;
  Clock::time_point expires_at;
};

class TokenCache {
 public:
  // Uses `dir`, created (mode 0700) by the first store.
  explicit TokenCache(std::filesystem::path dir) : dir_(std::move(dir)) {}

  // The file name for one registry and identity: a hex SHA-256 of the parts.
  static std::string key(std::string_view server, std::string_view endpoint,
                         std::string_view access_key_id, std::string_view profile);

  // The entry under `key`; nullopt when there is none or it does not parse.
  // Never throws for a missing, unreadable or damaged file.
  std::optional<CachedToken> load(const std::string& key) const;

  // Writes the entry under `key` (0600, atomically) and removes the entries
  // of others that have expired by `now` or do not parse. Throws InputError
  // naming the path when the directory or file cannot be written.
  void store(const std::string& key, const CachedToken& token, Clock::time_point now) const;

  // Every entry whose token is still valid at `now`, one per server, sorted
  // by server. An absent directory has none.
  std::vector<CachedToken> list(Clock::time_point now) const;

  const std::filesystem::path& directory() const noexcept { return dir_; }

 private:
  std::filesystem::path dir_;
};

}  // namespace ecr::credential_helper
