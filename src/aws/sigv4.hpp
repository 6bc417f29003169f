// AWS Signature Version 4: header signing, pre-signed (query) URLs, and the
// verification side used by ecr-local. The canonicalisation is shared by both
// directions so client and server can never disagree.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ecr/config.hpp"
#include "http/transport.hpp"

namespace ecr::aws {

struct SigningParams {
  Credentials credentials;
  std::string region;
  std::string service;  // "ecr"
  std::chrono::system_clock::time_point time;
};

// The intermediate artefacts, exposed for the official test suite and --debug.
struct Signature {
  std::string canonical_request;
  std::string string_to_sign;
  std::string signature;      // lowercase hex
  std::string authorization;  // the Authorization header value (header signing)
  std::string signed_url;     // the URL (query signing)
};

// Adds X-Amz-Date, X-Amz-Security-Token (when a session token is set) and
// Authorization to `request`. `payload_hash` is the hex SHA-256 of the body;
// when empty it is computed from request.body.
Signature sign_headers(http::Request& request, const SigningParams& params,
                       std::string_view payload_hash = {});

// Returns the pre-signed form of `request.url` valid for `expires` (at most
// 604800 s), signing `host` only with UNSIGNED-PAYLOAD unless `payload_hash`
// is given.
Signature presign_url(const http::Request& request, const SigningParams& params,
                      std::chrono::seconds expires, std::string_view payload_hash = {});

// What the server learned from a request's Authorization header.
struct ParsedAuthorization {
  std::string access_key_id;
  std::string date;     // yyyymmdd from the credential scope
  std::string region;
  std::string service;
  std::vector<std::string> signed_headers;
  std::string signature;
};

// Why a request failed verification; the server maps each to ECR's error:
//   kMissing      -> MissingAuthenticationTokenException (403)
//   kMalformed    -> IncompleteSignatureException (403)
//   kUnknownKey   -> UnrecognizedClientException (403)
//   kBadSignature -> InvalidSignatureException (403)
//   kExpired      -> InvalidSignatureException "Signature expired" (403)
enum class VerifyFailure { kNone, kMissing, kMalformed, kUnknownKey, kBadSignature, kExpired };

struct VerifyResult {
  VerifyFailure failure = VerifyFailure::kNone;
  std::string message;  // human-readable reason, ECR-style wording
  ParsedAuthorization authorization;
  bool ok() const noexcept { return failure == VerifyFailure::kNone; }
};

// Looks up the secret for an access key id; nullopt for an unknown key.
using SecretLookup = std::function<std::optional<std::string>(std::string_view access_key_id)>;

// Verifies a header-signed request as the server received it: `target` is the
// request target (path and query exactly as on the request line), `headers`
// as received, `body` the raw body. Recomputes the canonical request with
// the same code sign_headers() uses, compares signatures in constant time,
// and refuses an X-Amz-Date more than `max_skew` away from `now`.
VerifyResult verify_headers(std::string_view method, std::string_view target,
                            const http::Headers& headers, std::string_view body,
                            const SecretLookup& lookup, std::chrono::system_clock::time_point now,
                            std::chrono::seconds max_skew = std::chrono::minutes(15));

}  // namespace ecr::aws
