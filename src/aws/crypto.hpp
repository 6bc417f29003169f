// The two primitives SigV4 is built from, on OpenSSL: SHA-256 in hex and
// HMAC-SHA256. Kept here (not in core) because only signing needs HMAC.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace ecr::aws {

using Mac = std::array<std::uint8_t, 32>;

// Lowercase hex SHA-256 of `data` (the payload hash and the hashed
// canonical request of SigV4).
std::string sha256_hex(std::string_view data);

Mac hmac_sha256(std::string_view key, std::string_view message);
inline Mac hmac_sha256(const Mac& key, std::string_view message) {
  return hmac_sha256(std::string_view(reinterpret_cast<const char*>(key.data()), key.size()),
                     message);
}

std::string to_hex(const Mac& mac);

}  // namespace ecr::aws
