// The secret keys ecr-local signs with (download URLs, registry API tokens):
// 32 random bytes in a file under the root, created once with mode 0600, so
// what was signed stays valid across restarts and nothing signed leaves the
// server with its key.
#pragma once

#include <filesystem>
#include <string>

namespace ecr::server {

// Loads the key from `key_file`, creating it with fresh random bytes when
// missing (two processes racing agree on the first one written). Throws
// api::ServerException when it cannot be created or does not hold a key.
std::string load_server_key(const std::filesystem::path& key_file);

}  // namespace ecr::server
