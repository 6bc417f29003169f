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
  // Remove dot segments and empty segments from the path before signing, as
  // every service but S3 expects. Off only to run the official test suite's
  // "-unnormalized" cases.
  bool normalize_path = true;
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
// Authorization to `request`, replacing any earlier ones (so a retried
// request can be signed again). `payload_hash` is the hex SHA-256 of the
// body; when empty it is an X-Amz-Content-SHA256 header's value if the request
// has one, else computed from request.body. Signs every header on the request
// except hop-by-hop ones and User-Agent/X-Amzn-Trace-Id (botocore's list),
// plus `host` derived from the URL when no Host header is given. Throws
// InputError when request.url is not an absolute http(s) URL.
Signature sign_headers(http::Request& request, const SigningParams& params,
                       std::string_view payload_hash = {});

// Returns the pre-signed form of `request.url` valid for `expires` (at most
// 604800 s), signing `host` plus any headers on `request` (none, usually),
// with UNSIGNED-PAYLOAD unless `payload_hash` is given. The session token,
// when set, is a signed X-Amz-Security-Token query parameter. Throws
// InputError for a bad URL or `expires` outside 1..604800 s.
Signature presign_url(const http::Request& request, const SigningParams& params,
                      std::chrono::seconds expires, std::string_view payload_hash = {});

// What the server learned from a request's Authorization header.
struct ParsedAuthorization {
  std::string access_key_id;
  std::string date;  // yyyymmdd from the credential scope
  std::string region;
  std::string service;
  std::vector<std::string> signed_headers;
  std::string signature;
};

// Parses "AWS4-HMAC-SHA256 Credential=<key>/<yyyymmdd>/<region>/<service>/
// aws4_request, SignedHeaders=a;b, Signature=<64 hex>" (components in any
// order, spaces after commas optional). Throws InputError saying which part
// is missing or malformed.
ParsedAuthorization parse_authorization(std::string_view value);

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
// the same code sign_headers() uses (path normalised, as for every service
// but S3), hashes `body` itself rather than trusting X-Amz-Content-SHA256,
// compares signatures in constant time, and refuses an X-Amz-Date more than
// `max_skew` away from `now`. `host` must be among the signed headers.
// Session tokens are not checked here; the caller may inspect
// X-Amz-Security-Token.
VerifyResult verify_headers(std::string_view method, std::string_view target,
                            const http::Headers& headers, std::string_view body,
                            const SecretLookup& lookup, std::chrono::system_clock::time_point now,
                            std::chrono::seconds max_skew = std::chrono::minutes(15));

// The same for a body the caller already hashed as it received it (ecr-local
// hashes each body while reading it, cache-hot): `body_sha256_hex` is the
// lowercase hex SHA-256 of the body actually received — never a client's
// X-Amz-Content-SHA256 claim, or a tampered body would verify.
VerifyResult verify_headers_with_body_hash(std::string_view method, std::string_view target,
                                           const http::Headers& headers,
                                           std::string_view body_sha256_hex,
                                           const SecretLookup& lookup,
                                           std::chrono::system_clock::time_point now,
                                           std::chrono::seconds max_skew = std::chrono::minutes(15));

// Verifies a pre-signed (query-signed) request, such as a download URL that
// ecr-local handed out: X-Amz-Algorithm, X-Amz-Credential, X-Amz-Date,
// X-Amz-Expires, X-Amz-SignedHeaders and X-Amz-Signature must be in the
// query of `target`; the payload is UNSIGNED-PAYLOAD. kMissing when there is
// no X-Amz-Signature, kExpired once X-Amz-Date + X-Amz-Expires has passed (or
// X-Amz-Date is more than `max_skew` in the future).
VerifyResult verify_presigned(std::string_view method, std::string_view target,
                              const http::Headers& headers, const SecretLookup& lookup,
                              std::chrono::system_clock::time_point now,
                              std::chrono::seconds max_skew = std::chrono::minutes(15));

}  // namespace ecr::aws
