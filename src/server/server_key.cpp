#include "server/server_key.hpp"

#include <fcntl.h>
#include <openssl/rand.h>
#include <unistd.h>

#include <fstream>
#include <iterator>

#include "ecr/service_errors.hpp"

namespace ecr::server {
namespace {

constexpr std::size_t kKeyBytes = 32;

// The new key, or empty when another process created the file first.
std::string create_key(const std::filesystem::path& key_file) {
  std::string key(kKeyBytes, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(key.data()), static_cast<int>(key.size())) != 1) {
    throw api::ServerException("no randomness for " + key_file.string());
  }
  int fd = ::open(key_file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return {};
  bool ok =
      ::write(fd, key.data(), key.size()) == static_cast<ssize_t>(key.size()) && ::fsync(fd) == 0;
  ::close(fd);
  if (!ok) throw api::ServerException("cannot write " + key_file.string());
  return key;
}

}  // namespace

std::string load_server_key(const std::filesystem::path& key_file) {
  std::string key = create_key(key_file);
  if (key.empty()) {
    std::ifstream in(key_file, std::ios::binary);
    key.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    if (key.size() != kKeyBytes) {
      throw api::ServerException(key_file.string() + " does not hold a 32-byte key");
    }
  }
  return key;
}

}  // namespace ecr::server
