#include "server/download_url.hpp"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <unistd.h>

#include <fstream>
#include <iterator>

#include "aws/crypto.hpp"
#include "aws/percent_encoding.hpp"
#include "ecr/service_errors.hpp"

namespace ecr::server {
namespace {

constexpr std::size_t kKeyBytes = 32;

std::string create_key(const std::filesystem::path& key_file) {
  std::string key(kKeyBytes, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(key.data()), static_cast<int>(key.size())) != 1) {
    throw api::ServerException("no randomness for the download URL key");
  }
  int fd = ::open(key_file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return {};  // another process created it first: read theirs
  bool ok =
      ::write(fd, key.data(), key.size()) == static_cast<ssize_t>(key.size()) && ::fsync(fd) == 0;
  ::close(fd);
  if (!ok) throw api::ServerException("cannot write " + key_file.string());
  return key;
}

}  // namespace

DownloadSigner::DownloadSigner(const std::filesystem::path& key_file) {
  key_ = create_key(key_file);
  if (key_.empty()) {
    std::ifstream in(key_file, std::ios::binary);
    key_.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    if (key_.size() != kKeyBytes) {
      throw api::ServerException(key_file.string() + " does not hold a 32-byte key");
    }
  }
}

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
