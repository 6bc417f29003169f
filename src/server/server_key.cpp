#include "server/server_key.hpp"

#include <fcntl.h>
#include <openssl/rand.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <iterator>
#include <system_error>

#include "core/file.hpp"
#include "ecr/error.hpp"
#include "ecr/service_errors.hpp"

namespace ecr::server {
namespace {

constexpr std::size_t kKeyBytes = 32;

// The new key, or empty when another process created the file first. The
// key is written and synced under a temp name and then linked into place
// (link(2) fails when the name exists, as O_EXCL would), so a failed write
// (a full disk) leaves no empty or short key file that every later start
// would refuse, and the error says why.
std::string create_key(const std::filesystem::path& key_file) {
  // Every start after the first finds its key: nothing to write (a full or
  // read-only disk does not stop a restart).
  std::error_code ec;
  if (std::filesystem::exists(key_file, ec)) return {};
  std::string key(kKeyBytes, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(key.data()), static_cast<int>(key.size())) != 1) {
    throw api::ServerException("no randomness for " + key_file.string());
  }
  try {
    TempFile temp(key_file, 0600);
    temp.write(key);
    sync_file(temp.fd(), temp.path());
    if (::link(temp.path().c_str(), key_file.c_str()) != 0) {
      if (errno == EEXIST) return {};
      throw_file_error("create", key_file);
    }
    sync_directory(key_file.parent_path().empty() ? std::filesystem::path(".")
                                                  : key_file.parent_path());
  } catch (const InputError& e) {
    throw api::ServerException(e.what());
  }
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
