// Server side of SigV4 (ecr-local): parse what the client claims, rebuild the
// canonical request with the same code the client used, compare in constant
// time. Messages follow the wording AWS services answer with.
#include <algorithm>
#include <cctype>

#include "aws/amz_date.hpp"
#include "aws/canonical_request.hpp"
#include "aws/crypto.hpp"
#include "aws/signing.hpp"
#include "aws/sigv4.hpp"
#include "core/text.hpp"
#include "ecr/error.hpp"

namespace ecr::aws {
namespace {

constexpr std::string_view kSignatureMismatch =
    "The request signature we calculated does not match the signature you provided. Check your "
    "AWS Secret Access Key and signing method. Consult the service documentation for details.";
constexpr std::string_view kUnknownKeyMessage =
    "The security token included in the request is invalid.";

using text::split;

bool all_digits(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// "<key>/<yyyymmdd>/<region>/<service>/aws4_request" into `out`.
void parse_credential(std::string_view credential, ParsedAuthorization& out) {
  const auto parts = split(credential, '/');
  if (parts.size() != 5 || parts[0].empty() || parts[1].size() != 8 || !all_digits(parts[1]) ||
      parts[2].empty() || parts[3].empty() || parts[4] != "aws4_request") {
    throw InputError(
        "Credential should be scoped to a valid region, like "
        "'<access key>/<yyyymmdd>/<region>/<service>/aws4_request', got '" +
        std::string(credential) + "'");
  }
  out.access_key_id = parts[0];
  out.date = parts[1];
  out.region = parts[2];
  out.service = parts[3];
}

void parse_signed_headers(std::string_view list, ParsedAuthorization& out) {
  for (const auto name : split(list, ';')) {
    if (name.empty()) {
      throw InputError("SignedHeaders has an empty header name: '" + std::string(list) + "'");
    }
    out.signed_headers.push_back(lowercase(name));
  }
}

void parse_signature(std::string_view signature, ParsedAuthorization& out) {
  const bool hex = std::all_of(signature.begin(), signature.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
  });
  if (signature.size() != 64 || !hex) {
    throw InputError("Signature must be 64 lowercase hex digits, got '" + std::string(signature) +
                     "'");
  }
  out.signature = signature;
}

VerifyResult fail(VerifyFailure failure, std::string message, ParsedAuthorization auth = {}) {
  VerifyResult result;
  result.failure = failure;
  result.message = std::move(message);
  result.authorization = std::move(auth);
  return result;
}

std::string format_skew(std::chrono::seconds skew) {
  return std::to_string(std::chrono::duration_cast<std::chrono::minutes>(skew).count()) + " min.";
}

// The parts of a verification both forms share once the claimed signature,
// scope, signed headers and request time are known.
struct Claim {
  ParsedAuthorization auth;
  std::string amz_date;
  std::string canonical_query;
  std::string payload_hash;
};

VerifyResult check_signature(std::string_view method, std::string_view path,
                             const http::Headers& headers, const Claim& claim,
                             const SecretLookup& lookup) {
  const auto& auth = claim.auth;
  if (std::find(auth.signed_headers.begin(), auth.signed_headers.end(), "host") ==
      auth.signed_headers.end()) {
    return fail(VerifyFailure::kMalformed,
                "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.", auth);
  }
  if (auth.date != std::string_view(claim.amz_date).substr(0, 8)) {
    return fail(VerifyFailure::kBadSignature,
                "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date "
                "from HTTP: '" +
                    auth.date + "' != '" + claim.amz_date.substr(0, 8) + "', from '" +
                    claim.amz_date + "'.",
                auth);
  }
  const std::optional<std::string> secret = lookup(auth.access_key_id);
  if (!secret) return fail(VerifyFailure::kUnknownKey, std::string(kUnknownKeyMessage), auth);

  SignedHeaderMap signed_headers;
  for (const auto& name : auth.signed_headers) {
    auto& values = signed_headers[name];
    for (const auto& [hname, value] : headers) {
      if (lowercase(hname) == name) values.push_back(value);
    }
    if (values.empty()) {
      return fail(VerifyFailure::kBadSignature,
                  "signed header '" + name + "' is not present in the request", auth);
    }
  }
  const std::string canonical =
      build_canonical_request(method, canonical_path(path, /*normalize=*/true),
                              claim.canonical_query, signed_headers, claim.payload_hash);
  const std::string expected = compute_signature(
      *secret, auth.date, auth.region, auth.service,
      string_to_sign(claim.amz_date, credential_scope(auth.date, auth.region, auth.service),
                     canonical));
  if (!signatures_equal(expected, auth.signature)) {
    return fail(VerifyFailure::kBadSignature, std::string(kSignatureMismatch), auth);
  }
  VerifyResult ok;
  ok.authorization = auth;
  return ok;
}

std::optional<std::string_view> header_value(const http::Headers& headers,
                                             std::string_view lowercase_name) {
  for (const auto& [name, value] : headers) {
    if (lowercase(name) == lowercase_name) return std::string_view(value);
  }
  return std::nullopt;
}

std::pair<std::string_view, std::string_view> split_target(std::string_view target) {
  const auto q = target.find('?');
  if (q == std::string_view::npos) return {target, {}};
  return {target.substr(0, q), target.substr(q + 1)};
}

}  // namespace

ParsedAuthorization parse_authorization(std::string_view value) {
  value = text::trim(value);
  const auto space = value.find(' ');
  if (space == std::string_view::npos || value.substr(0, space) != kAlgorithm) {
    throw InputError("Authorization header must start with '" + std::string(kAlgorithm) + " '");
  }
  ParsedAuthorization out;
  bool have_credential = false, have_headers = false, have_signature = false;
  for (const auto raw : split(value.substr(space + 1), ',')) {
    const std::string_view item = text::trim(raw);
    const auto eq = item.find('=');
    if (eq == std::string_view::npos) {
      throw InputError("Authorization header component is not key=value: '" + std::string(item) +
                       "'");
    }
    const std::string_view key = item.substr(0, eq);
    const std::string_view val = item.substr(eq + 1);
    if (key == "Credential") {
      parse_credential(val, out);
      have_credential = true;
    } else if (key == "SignedHeaders") {
      parse_signed_headers(val, out);
      have_headers = true;
    } else if (key == "Signature") {
      parse_signature(val, out);
      have_signature = true;
    } else {
      throw InputError("Authorization header has an unknown component '" + std::string(key) + "'");
    }
  }
  for (const auto& [present, name] :
       {std::pair{have_credential, "Credential"}, std::pair{have_headers, "SignedHeaders"},
        std::pair{have_signature, "Signature"}}) {
    if (!present) {
      throw InputError(std::string("Authorization header requires '") + name + "' parameter.");
    }
  }
  return out;
}

namespace {

// verify_headers() with the payload hash from `payload_hash()`, called only
// once the cheap checks passed.
template <class PayloadHash>
VerifyResult verify_headers_claim(std::string_view method, std::string_view target,
                                  const http::Headers& headers, const PayloadHash& payload_hash,
                                  const SecretLookup& lookup,
                                  std::chrono::system_clock::time_point now,
                                  std::chrono::seconds max_skew) {
  const auto authorization = header_value(headers, "authorization");
  if (!authorization) return fail(VerifyFailure::kMissing, "Missing Authentication Token");
  Claim claim;
  try {
    claim.auth = parse_authorization(*authorization);
  } catch (const InputError& e) {
    return fail(VerifyFailure::kMalformed, e.what());
  }
  const auto amz_date = header_value(headers, "x-amz-date");
  if (!amz_date) {
    return fail(VerifyFailure::kMalformed,
                "Authorization header requires existence of a 'X-Amz-Date' header.", claim.auth);
  }
  const auto signed_at = parse_amz_date(*amz_date);
  if (!signed_at) {
    return fail(VerifyFailure::kMalformed,
                "X-Amz-Date must be yyyymmddThhmmssZ, got '" + std::string(*amz_date) + "'",
                claim.auth);
  }
  if (*signed_at < now - max_skew) {
    return fail(VerifyFailure::kExpired,
                "Signature expired: " + std::string(*amz_date) + " is now earlier than " +
                    format_amz_date(now - max_skew) + " (" + format_amz_date(now) + " - " +
                    format_skew(max_skew) + ")",
                claim.auth);
  }
  if (*signed_at > now + max_skew) {
    return fail(VerifyFailure::kExpired,
                "Signature not yet current: " + std::string(*amz_date) + " is still later than " +
                    format_amz_date(now + max_skew) + " (" + format_amz_date(now) + " + " +
                    format_skew(max_skew) + ")",
                claim.auth);
  }
  claim.amz_date = *amz_date;
  const auto [path, query] = split_target(target);
  claim.canonical_query = canonical_query(parse_query(query));
  claim.payload_hash = payload_hash();
  return check_signature(method, path, headers, claim, lookup);
}

}  // namespace

VerifyResult verify_headers(std::string_view method, std::string_view target,
                            const http::Headers& headers, std::string_view body,
                            const SecretLookup& lookup, std::chrono::system_clock::time_point now,
                            std::chrono::seconds max_skew) {
  // The server hashes the body it actually received, whatever a client's
  // X-Amz-Content-SHA256 header claims, so a tampered body cannot verify.
  return verify_headers_claim(
      method, target, headers, [body] { return sha256_hex(body); }, lookup, now, max_skew);
}

VerifyResult verify_headers_with_body_hash(std::string_view method, std::string_view target,
                                           const http::Headers& headers,
                                           std::string_view body_sha256_hex,
                                           const SecretLookup& lookup,
                                           std::chrono::system_clock::time_point now,
                                           std::chrono::seconds max_skew) {
  return verify_headers_claim(
      method, target, headers, [body_sha256_hex] { return std::string(body_sha256_hex); }, lookup,
      now, max_skew);
}

VerifyResult verify_presigned(std::string_view method, std::string_view target,
                              const http::Headers& headers, const SecretLookup& lookup,
                              std::chrono::system_clock::time_point now,
                              std::chrono::seconds max_skew) {
  const auto [path, query] = split_target(target);
  QueryParams params = parse_query(query);
  auto param = [&](std::string_view name) -> std::optional<std::string> {
    for (const auto& [k, v] : params) {
      if (k == name) return v;
    }
    return std::nullopt;
  };
  const auto signature = param("X-Amz-Signature");
  if (!signature) return fail(VerifyFailure::kMissing, "Missing Authentication Token");

  Claim claim;
  const auto algorithm = param("X-Amz-Algorithm");
  const auto credential = param("X-Amz-Credential");
  const auto amz_date = param("X-Amz-Date");
  const auto expires = param("X-Amz-Expires");
  const auto signed_headers = param("X-Amz-SignedHeaders");
  if (!algorithm || !credential || !amz_date || !expires || !signed_headers) {
    return fail(VerifyFailure::kMalformed,
                "Query-string authentication requires the X-Amz-Algorithm, X-Amz-Credential, "
                "X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.");
  }
  if (*algorithm != kAlgorithm) {
    return fail(VerifyFailure::kMalformed,
                "X-Amz-Algorithm only supports \"" + std::string(kAlgorithm) + "\"");
  }
  try {
    parse_credential(*credential, claim.auth);
    parse_signed_headers(*signed_headers, claim.auth);
    parse_signature(*signature, claim.auth);
  } catch (const InputError& e) {
    return fail(VerifyFailure::kMalformed, e.what(), claim.auth);
  }
  const auto signed_at = parse_amz_date(*amz_date);
  if (!signed_at) {
    return fail(VerifyFailure::kMalformed,
                "X-Amz-Date must be yyyymmddThhmmssZ, got '" + *amz_date + "'", claim.auth);
  }
  if (expires->empty() || expires->size() > 6 || !all_digits(*expires) || std::stol(*expires) < 1 ||
      std::stol(*expires) > 604800) {
    return fail(
        VerifyFailure::kMalformed,
        "X-Amz-Expires must be a number of seconds from 1 to 604800, got '" + *expires + "'",
        claim.auth);
  }
  if (now > *signed_at + std::chrono::seconds(std::stol(*expires))) {
    return fail(VerifyFailure::kExpired, "Request has expired", claim.auth);
  }
  if (*signed_at > now + max_skew) {
    return fail(VerifyFailure::kExpired, "Request is not yet valid", claim.auth);
  }
  claim.amz_date = *amz_date;
  std::erase_if(params, [](const auto& p) { return p.first == "X-Amz-Signature"; });
  claim.canonical_query = canonical_query(params);
  claim.payload_hash = std::string(kUnsignedPayload);
  return check_signature(method, path, headers, claim, lookup);
}

}  // namespace ecr::aws
