// The registry API's passwords. GetAuthorizationToken hands out
// base64("AWS:" + password), valid 12 hours; `docker login -u AWS` sends the
// password back as HTTP Basic credentials on every /v2/ request. ECR's
// passwords are opaque; ecr-local's say who asked and until when, signed
// with a key that never leaves the server (server_key.hpp):
//
//   ecrlocal1.<hex of the access key id>.<expiry, unix seconds>.<hex HMAC>
//
// The HMAC covers the access key id, the expiry and that key's secret, so a
// token is bound to the credential pair that asked for it: it stops working
// when that pair is no longer accepted or its secret changes, and cannot be
// altered to name another pair or a later expiry without the server key.
#pragma once

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "aws/sigv4.hpp"

namespace ecr::server {

class RegistryTokens {
 public:
  // The key from `key_file` (server_key.hpp).
  explicit RegistryTokens(const std::filesystem::path& key_file);

  // The password for the pair (access_key, secret_key), valid until `expires`.
  std::string issue(std::string_view access_key, std::string_view secret_key,
                    std::chrono::system_clock::time_point expires) const;

  // Why `password` is refused (malformed, forged, for a pair `lookup` does not
  // know or whose secret changed, expired); nullopt when it is good.
  std::optional<std::string> refuse(std::string_view password, const aws::SecretLookup& lookup,
                                    std::chrono::system_clock::time_point now) const;

 private:
  std::string mac(std::string_view access_key, std::string_view expires,
                  std::string_view secret_key) const;
  std::string key_;
};

}  // namespace ecr::server
