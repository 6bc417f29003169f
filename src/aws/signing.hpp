// The SigV4 steps after canonicalisation, shared by signing and verification:
// credential scope, string to sign, the derived signing key and the final
// HMAC, plus which request headers a signer includes.
#pragma once

#include <string>
#include <string_view>

#include "aws/canonical_request.hpp"
#include "aws/url.hpp"
#include "http/transport.hpp"

namespace ecr::aws {

inline constexpr std::string_view kAlgorithm = "AWS4-HMAC-SHA256";
inline constexpr std::string_view kUnsignedPayload = "UNSIGNED-PAYLOAD";

// "<yyyymmdd>/<region>/<service>/aws4_request".
std::string credential_scope(std::string_view date, std::string_view region,
                             std::string_view service);

// "AWS4-HMAC-SHA256\n<amz date>\n<scope>\n<hex sha256(canonical request)>".
std::string string_to_sign(std::string_view amz_date, std::string_view scope,
                           std::string_view canonical_request);

// HMAC chain AWS4<secret> -> date -> region -> service -> aws4_request, then
// the HMAC of the string to sign, in lowercase hex.
std::string compute_signature(std::string_view secret, std::string_view date,
                              std::string_view region, std::string_view service,
                              std::string_view string_to_sign_text);

// Constant-time comparison (CRYPTO_memcmp), so a forger learns nothing from
// how long a wrong signature took to reject.
bool signatures_equal(std::string_view a, std::string_view b);

// Headers a signer leaves out: hop-by-hop headers a proxy may rewrite, and
// User-Agent/X-Amzn-Trace-Id which intermediaries change (botocore's list).
// Authorization is excluded because it carries the signature itself.
bool excluded_from_signing(std::string_view lowercase_name);

// Every header on the request that is not excluded, plus `host` from `url`
// when the request has no Host header (the transport derives the same value).
SignedHeaderMap headers_to_sign(const http::Headers& headers, const UrlParts& url);

}  // namespace ecr::aws
