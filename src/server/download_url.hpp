// Pre-signed layer download URLs. ECR hands out S3 pre-signed GETs; ecr-local
// hands out URLs back to itself, signed with an HMAC key that never leaves the
// server, so whoever holds a URL may fetch exactly that blob until it expires
// and nothing else.
//
//   <base>/blobs/sha256/<hex>?repository=<name>&expires=<unix s>&signature=<hex>
//
// The key lives in <root>/download-url.key (created once, mode 0600), so URLs
// stay valid across restarts.
#pragma once

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace ecr::server {

class DownloadSigner {
 public:
  // The key from `key_file` (server_key.hpp).
  explicit DownloadSigner(const std::filesystem::path& key_file);

  std::string make_url(std::string_view base_url, std::string_view repository,
                       std::string_view digest,
                       std::chrono::system_clock::time_point expires) const;

  // Checks a request for /blobs/sha256/<hex>: the signature must match the
  // digest, repository and expiry, and the expiry must not have passed.
  // Returns the reason for refusal, or nullopt when the URL is good.
  std::optional<std::string> refuse(std::string_view digest, std::string_view repository,
                                    std::string_view expires, std::string_view signature,
                                    std::chrono::system_clock::time_point now) const;

 private:
  std::string sign(std::string_view digest, std::string_view repository,
                   std::string_view expires) const;
  std::string key_;
};

}  // namespace ecr::server
