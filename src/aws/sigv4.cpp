// Client side of SigV4: header signing and pre-signed URLs.
#include "aws/sigv4.hpp"

#include <algorithm>

#include "aws/amz_date.hpp"
#include "aws/canonical_request.hpp"
#include "aws/crypto.hpp"
#include "aws/signing.hpp"
#include "aws/url.hpp"
#include "ecr/error.hpp"

namespace ecr::aws {
namespace {

// X-Amz-Expires is capped at seven days by every AWS service.
constexpr std::chrono::seconds kMaxPresignExpiry{604800};

void erase_headers(http::Headers& headers,
                   std::initializer_list<std::string_view> lowercase_names) {
  std::erase_if(headers, [&](const auto& header) {
    const std::string lname = lowercase(header.first);
    return std::find(lowercase_names.begin(), lowercase_names.end(), lname) !=
           lowercase_names.end();
  });
}

std::string payload_hash_for(const http::Request& request, std::string_view given) {
  if (!given.empty()) return std::string(given);
  for (const auto& [name, value] : request.headers) {
    // botocore signs what the request already declares as its content hash.
    if (lowercase(name) == "x-amz-content-sha256") return value;
  }
  return sha256_hex(request.body);
}

}  // namespace

Signature sign_headers(http::Request& request, const SigningParams& params,
                       std::string_view payload_hash) {
  const UrlParts url = split_url(request.url);
  const std::string amz_date = format_amz_date(params.time);
  const std::string date = amz_date.substr(0, 8);
  const Credentials& creds = params.credentials;

  // Signing again (a retry) replaces what an earlier signature added.
  erase_headers(request.headers, {"authorization", "x-amz-date", "x-amz-security-token"});
  request.headers.emplace_back("X-Amz-Date", amz_date);
  if (!creds.session_token.empty()) {
    request.headers.emplace_back("X-Amz-Security-Token", creds.session_token);
  }

  const SignedHeaderMap headers = headers_to_sign(request.headers, url);
  const std::string scope = credential_scope(date, params.region, params.service);

  Signature sig;
  sig.canonical_request = build_canonical_request(
      request.method, canonical_path(url.path, params.normalize_path),
      canonical_query(parse_query(url.query)), headers, payload_hash_for(request, payload_hash));
  sig.string_to_sign = string_to_sign(amz_date, scope, sig.canonical_request);
  sig.signature = compute_signature(creds.secret_access_key, date, params.region, params.service,
                                    sig.string_to_sign);
  sig.authorization = std::string(kAlgorithm) + " Credential=" + creds.access_key_id + "/" + scope +
                      ", SignedHeaders=" + signed_header_list(headers) +
                      ", Signature=" + sig.signature;
  request.headers.emplace_back("Authorization", sig.authorization);
  return sig;
}

Signature presign_url(const http::Request& request, const SigningParams& params,
                      std::chrono::seconds expires, std::string_view payload_hash) {
  if (expires < std::chrono::seconds(1) || expires > kMaxPresignExpiry) {
    throw InputError("pre-signed URL expiry must be 1 to 604800 seconds, got " +
                     std::to_string(expires.count()));
  }
  const UrlParts url = split_url(request.url);
  const std::string amz_date = format_amz_date(params.time);
  const std::string date = amz_date.substr(0, 8);
  const Credentials& creds = params.credentials;
  const std::string scope = credential_scope(date, params.region, params.service);
  const SignedHeaderMap headers = headers_to_sign(request.headers, url);

  QueryParams query = parse_query(url.query);
  // A URL that was pre-signed before is signed afresh, not twice.
  std::erase_if(query, [](const auto& p) { return p.first.starts_with("X-Amz-"); });
  query.emplace_back("X-Amz-Algorithm", std::string(kAlgorithm));
  query.emplace_back("X-Amz-Credential", creds.access_key_id + "/" + scope);
  query.emplace_back("X-Amz-Date", amz_date);
  query.emplace_back("X-Amz-Expires", std::to_string(expires.count()));
  if (!creds.session_token.empty()) query.emplace_back("X-Amz-Security-Token", creds.session_token);
  query.emplace_back("X-Amz-SignedHeaders", signed_header_list(headers));
  const std::string query_text = canonical_query(query);

  Signature sig;
  sig.canonical_request = build_canonical_request(
      request.method, canonical_path(url.path, params.normalize_path), query_text, headers,
      payload_hash.empty() ? kUnsignedPayload : payload_hash);
  sig.string_to_sign = string_to_sign(amz_date, scope, sig.canonical_request);
  sig.signature = compute_signature(creds.secret_access_key, date, params.region, params.service,
                                    sig.string_to_sign);
  sig.signed_url = url.origin() + (url.path.empty() ? std::string("/") : url.path) + "?" +
                   query_text + "&X-Amz-Signature=" + sig.signature;
  return sig;
}

}  // namespace ecr::aws
