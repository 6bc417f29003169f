#include "server/registry_token.hpp"

#include <openssl/crypto.h>

#include <charconv>

#include "aws/crypto.hpp"
#include "server/server_key.hpp"

namespace ecr::server {
namespace {

constexpr std::string_view kTokenPrefix = "ecrlocal1.";
// Longer than any access key id the model allows (128) in hex, with room.
constexpr std::size_t kMaxTokenPasswordBytes = 1024;

std::string hex_of(std::string_view bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out += kHex[c >> 4];
    out += kHex[c & 15];
  }
  return out;
}

std::optional<std::string> unhex(std::string_view hex) {
  if (hex.size() % 2 != 0) return std::nullopt;
  std::string out;
  out.reserve(hex.size() / 2);
  for (std::size_t i = 0; i < hex.size(); i += 2) {
    unsigned value = 0;
    auto [end, ec] = std::from_chars(hex.data() + i, hex.data() + i + 2, value, 16);
    if (ec != std::errc() || end != hex.data() + i + 2) return std::nullopt;
    out += static_cast<char>(value);
  }
  return out;
}

}  // namespace

RegistryTokens::RegistryTokens(const std::filesystem::path& key_file)
    : key_(load_server_key(key_file)) {}

std::string RegistryTokens::mac(std::string_view access_key, std::string_view expires,
                                std::string_view secret_key) const {
  std::string message = "registry-token\n";
  message += access_key;
  message += '\n';
  message += expires;
  message += '\n';
  message += secret_key;
  return aws::to_hex(aws::hmac_sha256(key_, message));
}

std::string RegistryTokens::issue(std::string_view access_key, std::string_view secret_key,
                                  std::chrono::system_clock::time_point expires) const {
  const std::string expiry = std::to_string(
      std::chrono::duration_cast<std::chrono::seconds>(expires.time_since_epoch()).count());
  return std::string(kTokenPrefix) + hex_of(access_key) + "." + expiry + "." +
         mac(access_key, expiry, secret_key);
}

std::optional<std::string> RegistryTokens::refuse(std::string_view password,
                                                  const aws::SecretLookup& lookup,
                                                  std::chrono::system_clock::time_point now) const {
  if (password.size() > kMaxTokenPasswordBytes || !password.starts_with(kTokenPrefix)) {
    return "not a token this registry issued";
  }
  std::string_view rest = password.substr(kTokenPrefix.size());
  const std::size_t first_dot = rest.find('.');
  const std::size_t second_dot =
      first_dot == std::string_view::npos ? first_dot : rest.find('.', first_dot + 1);
  if (second_dot == std::string_view::npos) return "not a token this registry issued";
  const auto access_key = unhex(rest.substr(0, first_dot));
  const std::string_view expires = rest.substr(first_dot + 1, second_dot - first_dot - 1);
  const std::string_view signature = rest.substr(second_dot + 1);
  std::int64_t expiry = 0;
  auto [end, ec] = std::from_chars(expires.data(), expires.data() + expires.size(), expiry);
  if (!access_key || access_key->empty() || ec != std::errc() ||
      end != expires.data() + expires.size()) {
    return "not a token this registry issued";
  }
  const std::optional<std::string> secret = lookup(*access_key);
  // The same answer for an unknown key as for a bad signature: a caller
  // learns nothing about which access keys exist.
  const std::string expected = secret ? mac(*access_key, expires, *secret) : std::string();
  if (!secret || signature.size() != expected.size() ||
      CRYPTO_memcmp(signature.data(), expected.data(), expected.size()) != 0) {
    return "the token's signature does not match";
  }
  if (now > std::chrono::system_clock::time_point(std::chrono::seconds(expiry))) {
    return "the token has expired";
  }
  return std::nullopt;
}

}  // namespace ecr::server
