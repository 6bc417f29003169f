#include "aws/signing.hpp"

#include <openssl/crypto.h>

#include <array>

#include "aws/crypto.hpp"

namespace ecr::aws {

std::string credential_scope(std::string_view date, std::string_view region,
                             std::string_view service) {
  std::string out;
  out.append(date).append("/").append(region).append("/").append(service).append("/aws4_request");
  return out;
}

std::string string_to_sign(std::string_view amz_date, std::string_view scope,
                           std::string_view canonical_request) {
  std::string out(kAlgorithm);
  out.append("\n").append(amz_date).append("\n").append(scope).append("\n");
  out += sha256_hex(canonical_request);
  return out;
}

std::string compute_signature(std::string_view secret, std::string_view date,
                              std::string_view region, std::string_view service,
                              std::string_view string_to_sign_text) {
  const Mac k_date = hmac_sha256("AWS4" + std::string(secret), date);
  const Mac k_region = hmac_sha256(k_date, region);
  const Mac k_service = hmac_sha256(k_region, service);
  const Mac k_signing = hmac_sha256(k_service, "aws4_request");
  return to_hex(hmac_sha256(k_signing, string_to_sign_text));
}

bool signatures_equal(std::string_view a, std::string_view b) {
  // The length of a signature is public (always 64 hex digits); only the
  // content comparison must not leak timing.
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

bool excluded_from_signing(std::string_view lowercase_name) {
  static constexpr std::array<std::string_view, 12> kExcluded = {"authorization",
                                                                 "connection",
                                                                 "expect",
                                                                 "keep-alive",
                                                                 "proxy-authenticate",
                                                                 "proxy-authorization",
                                                                 "te",
                                                                 "trailer",
                                                                 "transfer-encoding",
                                                                 "upgrade",
                                                                 "user-agent",
                                                                 "x-amzn-trace-id"};
  for (const auto name : kExcluded) {
    if (name == lowercase_name) return true;
  }
  return false;
}

SignedHeaderMap headers_to_sign(const http::Headers& headers, const UrlParts& url) {
  SignedHeaderMap out;
  for (const auto& [name, value] : headers) {
    std::string lname = lowercase(name);
    if (!excluded_from_signing(lname)) out[std::move(lname)].push_back(value);
  }
  if (out.find("host") == out.end()) out["host"].push_back(url.host_header());
  return out;
}

}  // namespace ecr::aws
