// The server side of SigV4: what ecr-local accepts and why it refuses.
#include <gtest/gtest.h>

#include <map>

#include "aws/amz_date.hpp"
#include "aws/sigv4.hpp"
#include "ecr/digest.hpp"
#include "ecr/error.hpp"

namespace ecr::aws {
namespace {

using std::chrono::minutes;
using std::chrono::seconds;

constexpr const char* kKeyId = "AKIDLOCAL";
constexpr const char* kLocalSecret = "local-secret";

SigningParams params_with(std::string secret = kLocalSecret) {
  SigningParams p;
  p.credentials = {kKeyId, std::move(secret), ""};
  p.region = "us-east-1";
  p.service = "ecr";
  p.time = parse_amz_date("20240315T101500Z").value();
  return p;
}

const std::chrono::system_clock::time_point kNow = parse_amz_date("20240315T101500Z").value();

std::optional<std::string> lookup(std::string_view key) {
  if (key == kKeyId) return std::string(kLocalSecret);
  return std::nullopt;
}

// A signed CreateRepository call and the headers a server receives for it
// (the transport adds Host, Content-Length and User-Agent on the wire).
struct Received {
  std::string body = R"({"repositoryName":"app"})";
  http::Headers headers;
};

Received sign_and_receive(const SigningParams& params) {
  Received r;
  http::Request req;
  req.method = "POST";
  req.url = "http://127.0.0.1:5000/";
  req.headers = {{"Content-Type", "application/x-amz-json-1.1"},
                 {"X-Amz-Target", "AmazonEC2ContainerRegistry_V20150921.CreateRepository"}};
  req.body = r.body;
  sign_headers(req, params);
  r.headers = req.headers;
  r.headers.emplace_back("Host", "127.0.0.1:5000");
  r.headers.emplace_back("Content-Length", std::to_string(r.body.size()));
  r.headers.emplace_back("User-Agent", "aws-cli/1.x");
  return r;
}

VerifyResult verify(const Received& r, std::chrono::system_clock::time_point now = kNow) {
  return verify_headers("POST", "/", r.headers, r.body, lookup, now);
}

void set_header(http::Headers& headers, std::string_view name, std::string value) {
  for (auto& h : headers) {
    if (h.first == name) h.second = std::move(value);
  }
}

TEST(SigV4Verify, ValidRequestVerifies) {
  const VerifyResult result = verify(sign_and_receive(params_with()));
  EXPECT_TRUE(result.ok()) << result.message;
  EXPECT_EQ(result.authorization.access_key_id, kKeyId);
  EXPECT_EQ(result.authorization.region, "us-east-1");
  EXPECT_EQ(result.authorization.service, "ecr");
  EXPECT_EQ(result.authorization.date, "20240315");
  EXPECT_EQ(result.authorization.signed_headers,
            (std::vector<std::string>{"content-type", "host", "x-amz-date", "x-amz-target"}));
}

TEST(SigV4Verify, BodyHashedByTheCallerVerifiesOnlyWhenItIsTheBodys) {
  const Received r = sign_and_receive(params_with());
  Sha256 right;
  right.update(r.body);
  Sha256 other;
  other.update(r.body + " ");
  EXPECT_TRUE(verify_headers_with_body_hash("POST", "/", r.headers, right.finish().hex(), lookup,
                                            kNow)
                  .ok());
  EXPECT_EQ(verify_headers_with_body_hash("POST", "/", r.headers, other.finish().hex(), lookup,
                                          kNow)
                .failure,
            VerifyFailure::kBadSignature);
}

TEST(SigV4Verify, SessionTokenIsSignedAndVerifies) {
  SigningParams p = params_with();
  p.credentials.session_token = "tok/en+";
  const VerifyResult result = verify(sign_and_receive(p));
  EXPECT_TRUE(result.ok()) << result.message;
  EXPECT_EQ(result.authorization.signed_headers,
            (std::vector<std::string>{"content-type", "host", "x-amz-date", "x-amz-security-token",
                                      "x-amz-target"}));
}

TEST(SigV4Verify, WrongSecretIsBadSignature) {
  const VerifyResult result = verify(sign_and_receive(params_with("not-the-secret")));
  EXPECT_EQ(result.failure, VerifyFailure::kBadSignature);
  EXPECT_NE(result.message.find("does not match"), std::string::npos) << result.message;
}

TEST(SigV4Verify, UnknownKeyIsReported) {
  SigningParams p = params_with();
  p.credentials.access_key_id = "AKIDSTRANGER";
  const VerifyResult result = verify(sign_and_receive(p));
  EXPECT_EQ(result.failure, VerifyFailure::kUnknownKey);
  EXPECT_EQ(result.authorization.access_key_id, "AKIDSTRANGER");
}

TEST(SigV4Verify, MissingAuthorizationIsMissing) {
  Received r = sign_and_receive(params_with());
  std::erase_if(r.headers, [](const auto& h) { return h.first == "Authorization"; });
  EXPECT_EQ(verify(r).failure, VerifyFailure::kMissing);
}

TEST(SigV4Verify, GarbageAuthorizationIsMalformed) {
  Received r = sign_and_receive(params_with());
  set_header(r.headers, "Authorization", "Bearer abc");
  EXPECT_EQ(verify(r).failure, VerifyFailure::kMalformed);
  set_header(r.headers, "Authorization", "AWS4-HMAC-SHA256 Credential=AKID/2024/us-east-1");
  EXPECT_EQ(verify(r).failure, VerifyFailure::kMalformed);
}

TEST(SigV4Verify, DatesOutsideTheClocksRangeAreRefusedNotOverflowed) {
  // Found by fuzz/sigv4_fuzz: year 6862 overflowed system_clock's nanoseconds.
  EXPECT_EQ(parse_amz_date("68620705T221320Z"), std::nullopt);
  EXPECT_EQ(parse_amz_date("99991231T235959Z"), std::nullopt);
  EXPECT_EQ(parse_amz_date("22010101T000000Z"), std::nullopt);
  EXPECT_EQ(parse_amz_date("19691231T235959Z"), std::nullopt);
  EXPECT_TRUE(parse_amz_date("22001231T235959Z").has_value());
  EXPECT_TRUE(parse_amz_date("19700101T000000Z").has_value());
  Received r = sign_and_receive(params_with());
  set_header(r.headers, "X-Amz-Date", "68620705T221320Z");
  EXPECT_EQ(verify(r).failure, VerifyFailure::kMalformed);
}

TEST(SigV4Verify, MissingDateHeaderIsMalformed) {
  Received r = sign_and_receive(params_with());
  std::erase_if(r.headers, [](const auto& h) { return h.first == "X-Amz-Date"; });
  EXPECT_EQ(verify(r).failure, VerifyFailure::kMalformed);
}

TEST(SigV4Verify, SixteenMinutesLateIsExpired) {
  const VerifyResult result = verify(sign_and_receive(params_with()), kNow + minutes(16));
  EXPECT_EQ(result.failure, VerifyFailure::kExpired);
  EXPECT_EQ(result.message,
            "Signature expired: 20240315T101500Z is now earlier than 20240315T101600Z "
            "(20240315T103100Z - 15 min.)");
}

TEST(SigV4Verify, SixteenMinutesEarlyIsExpired) {
  EXPECT_EQ(verify(sign_and_receive(params_with()), kNow - minutes(16)).failure,
            VerifyFailure::kExpired);
}

TEST(SigV4Verify, FourteenMinutesOffStillVerifies) {
  EXPECT_TRUE(verify(sign_and_receive(params_with()), kNow + minutes(14)).ok());
  EXPECT_TRUE(verify(sign_and_receive(params_with()), kNow - minutes(14)).ok());
}

TEST(SigV4Verify, TamperedBodyIsBadSignature) {
  Received r = sign_and_receive(params_with());
  r.body = R"({"repositoryName":"evil"})";
  EXPECT_EQ(verify(r).failure, VerifyFailure::kBadSignature);
}

TEST(SigV4Verify, TamperedSignedHeaderIsBadSignature) {
  Received r = sign_and_receive(params_with());
  set_header(r.headers, "X-Amz-Target", "AmazonEC2ContainerRegistry_V20150921.DeleteRepository");
  EXPECT_EQ(verify(r).failure, VerifyFailure::kBadSignature);
}

TEST(SigV4Verify, TamperedQueryIsBadSignature) {
  const Received r = sign_and_receive(params_with());
  EXPECT_EQ(verify_headers("POST", "/?extra=1", r.headers, r.body, lookup, kNow).failure,
            VerifyFailure::kBadSignature);
}

TEST(SigV4Verify, UnsignedHeadersMayChange) {
  Received r = sign_and_receive(params_with());
  set_header(r.headers, "User-Agent", "something else");
  EXPECT_TRUE(verify(r).ok());
}

TEST(SigV4Verify, HostMustBeSigned) {
  Received r = sign_and_receive(params_with());
  std::string auth;
  for (const auto& h : r.headers) {
    if (h.first == "Authorization") auth = h.second;
  }
  const auto pos = auth.find("host;");
  auth.erase(pos, 5);
  set_header(r.headers, "Authorization", auth);
  EXPECT_EQ(verify(r).failure, VerifyFailure::kMalformed);
}

TEST(SigV4ParseAuthorization, ReadsEveryComponentInAnyOrder) {
  const ParsedAuthorization a = parse_authorization(
      "AWS4-HMAC-SHA256 SignedHeaders=host;x-amz-date,Signature="
      "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31, "
      "Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request");
  EXPECT_EQ(a.access_key_id, "AKIDEXAMPLE");
  EXPECT_EQ(a.date, "20150830");
  EXPECT_EQ(a.region, "us-east-1");
  EXPECT_EQ(a.service, "service");
  EXPECT_EQ(a.signed_headers, (std::vector<std::string>{"host", "x-amz-date"}));
  EXPECT_EQ(a.signature, "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
}

TEST(SigV4ParseAuthorization, NamesTheMissingOrBadPart) {
  const std::string sig = "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31";
  const std::map<std::string, std::string> cases = {
      {"AWS4-HMAC-SHA1 Credential=a/20150830/r/s/aws4_request", "must start with"},
      {"AWS4-HMAC-SHA256 SignedHeaders=host, Signature=" + sig, "'Credential' parameter"},
      {"AWS4-HMAC-SHA256 Credential=a/20150830/r/s/aws4_request, Signature=" + sig,
       "'SignedHeaders' parameter"},
      {"AWS4-HMAC-SHA256 Credential=a/20150830/r/s/aws4_request, SignedHeaders=host",
       "'Signature' parameter"},
      {"AWS4-HMAC-SHA256 Credential=a/2015/r/s/aws4_request, SignedHeaders=host, Signature=" + sig,
       "Credential should be scoped"},
      {"AWS4-HMAC-SHA256 Credential=a/20150830/r/s/aws4_request, SignedHeaders=host, "
       "Signature=XYZ",
       "64 lowercase hex"},
  };
  for (const auto& [header, expected] : cases) {
    try {
      parse_authorization(header);
      ADD_FAILURE() << "accepted: " << header;
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find(expected), std::string::npos)
          << header << " -> " << e.what();
    }
  }
}

// Pre-signed download URLs as ecr-local hands them out.
struct Presigned {
  std::string target;  // path?query as the server sees it
  http::Headers headers{{"Host", "localhost:5000"}};
};

Presigned presign(const SigningParams& params, seconds expires = seconds(3600)) {
  http::Request req;
  req.url = "http://localhost:5000/v2/app/blobs/sha256:abc?x=1";
  const Signature sig = presign_url(req, params, expires);
  Presigned p;
  p.target = sig.signed_url.substr(std::string("http://localhost:5000").size());
  return p;
}

TEST(SigV4VerifyPresigned, FreshUrlVerifies) {
  const Presigned p = presign(params_with());
  const VerifyResult result = verify_presigned("GET", p.target, p.headers, lookup, kNow);
  EXPECT_TRUE(result.ok()) << result.message;
  EXPECT_EQ(result.authorization.signed_headers, std::vector<std::string>{"host"});
}

TEST(SigV4VerifyPresigned, UrlPastItsExpiryIsExpired) {
  const Presigned p = presign(params_with(), seconds(60));
  EXPECT_TRUE(verify_presigned("GET", p.target, p.headers, lookup, kNow + seconds(60)).ok());
  EXPECT_EQ(verify_presigned("GET", p.target, p.headers, lookup, kNow + seconds(61)).failure,
            VerifyFailure::kExpired);
}

TEST(SigV4VerifyPresigned, ChangedPathOrHostIsBadSignature) {
  const Presigned p = presign(params_with());
  std::string other = p.target;
  other.replace(other.find("/app/"), 5, "/ppa/");
  EXPECT_EQ(verify_presigned("GET", other, p.headers, lookup, kNow).failure,
            VerifyFailure::kBadSignature);
  EXPECT_EQ(verify_presigned("GET", p.target, {{"Host", "evil:5000"}}, lookup, kNow).failure,
            VerifyFailure::kBadSignature);
}

TEST(SigV4VerifyPresigned, NoSignatureIsMissingAndWrongKeyIsUnknown) {
  EXPECT_EQ(verify_presigned("GET", "/v2/app/blobs/x", {}, lookup, kNow).failure,
            VerifyFailure::kMissing);
  SigningParams stranger = params_with();
  stranger.credentials.access_key_id = "AKIDSTRANGER";
  const Presigned p = presign(stranger);
  EXPECT_EQ(verify_presigned("GET", p.target, p.headers, lookup, kNow).failure,
            VerifyFailure::kUnknownKey);
}

TEST(SigV4Presign, ExpiryOutsideOneSecondToSevenDaysIsRefused) {
  http::Request req;
  req.url = "https://example.com/";
  EXPECT_THROW(presign_url(req, params_with(), seconds(0)), InputError);
  EXPECT_THROW(presign_url(req, params_with(), seconds(604801)), InputError);
  EXPECT_NO_THROW(presign_url(req, params_with(), seconds(604800)));
}

}  // namespace
}  // namespace ecr::aws
