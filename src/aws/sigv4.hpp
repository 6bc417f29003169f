// AWS Signature Version 4: header signing, pre-signed (query) URLs, and the
// verification side used by ecr-local. The canonicalisation is shared by both
// directions so client and server can never disagree.
#pragma once

#include <chrono>
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

}  // namespace ecr::aws
