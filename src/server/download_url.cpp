#include "server/download_url.hpp"

#include <openssl/crypto.h>

#include "aws/crypto.hpp"
#include "aws/percent_encoding.hpp"
#include "server/server_key.hpp"

namespace ecr::server {

DownloadSigner::DownloadSigner(const std::filesystem::path& key_file)
    : key_(load_server_key(key_file)) {}

std::string DownloadSigner::sign(std::string_view digest, std::string_view repository,
                                 std::string_view expires) const {
  std::string message =
      "GET\n" + std::string(digest) + "\n" + std::string(repository) + "\n" + std::string(expires);
  return aws::to_hex(aws::hmac_sha256(key_, message));
}

std::string DownloadSigner::make_url(std::string_view base_url, std::string_view repository,
                                     std::string_view digest,
                                     std::chrono::system_clock::time_point expires) const {
  std::string expiry = std::to_string(
      std::chrono::duration_cast<std::chrono::seconds>(expires.time_since_epoch()).count());
  std::string hex(digest.substr(digest.find(':') + 1));
  return std::string(base_url) + "/blobs/sha256/" + hex +
         "?repository=" + aws::uri_encode(repository, false) + "&expires=" + expiry +
         "&signature=" + sign(digest, repository, expiry);
}

std::optional<std::string> DownloadSigner::refuse(std::string_view digest,
                                                  std::string_view repository,
                                                  std::string_view expires,
                                                  std::string_view signature,
                                                  std::chrono::system_clock::time_point now) const {
  if (expires.empty() || expires.size() > 12 ||
      expires.find_first_not_of("0123456789") != std::string_view::npos) {
    return "the URL carries no valid expiry";
  }
  std::string expected = sign(digest, repository, expires);
  if (signature.size() != expected.size() ||
      CRYPTO_memcmp(signature.data(), expected.data(), expected.size()) != 0) {
    return "the URL signature does not match";
  }
  auto deadline =
      std::chrono::system_clock::time_point(std::chrono::seconds(std::stoll(std::string(expires))));
  if (now > deadline) return "the URL has expired";
  return std::nullopt;
}

}  // namespace ecr::server
