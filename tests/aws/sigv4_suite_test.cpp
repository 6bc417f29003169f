// The official AWS Signature V4 test suite (aws-c-auth's, vendored under
// third_party/aws/sigv4-test-suite/v4), one test per case folder: the
// canonical request, string to sign and signature of both header signing and
// query (pre-signed URL) signing must match byte for byte.
#include <gtest/gtest.h>
#include <simdjson.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "aws/amz_date.hpp"
#include "aws/crypto.hpp"
#include "aws/sigv4.hpp"

namespace ecr::aws {
namespace {

namespace fs = std::filesystem;

fs::path suite_dir() { return fs::path(ECR_REFERENCE_DIR) / "sigv4-test-suite" / "v4"; }

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path.string());
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// request.txt: "METHOD <target> HTTP/1.1", header lines "Name:value" (lines
// starting with whitespace continue the previous value), a blank line, body.
// The target may hold raw spaces and UTF-8, exactly as the suite wants them
// signed.
struct SuiteRequest {
  std::string method;
  std::string target;
  http::Headers headers;
  std::string body;
};

SuiteRequest parse_request(const std::string& text) {
  SuiteRequest req;
  std::size_t pos = 0;
  auto next_line = [&](std::string& line) {
    if (pos > text.size()) return false;
    const auto nl = text.find('\n', pos);
    line = text.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
    pos = nl == std::string::npos ? text.size() + 1 : nl + 1;
    return true;
  };
  std::string line;
  next_line(line);
  const auto first_space = line.find(' ');
  const auto version = line.rfind(" HTTP/");
  req.method = line.substr(0, first_space);
  req.target = line.substr(first_space + 1, version - first_space - 1);
  while (next_line(line) && !line.empty()) {
    if (line.front() == ' ' || line.front() == '\t') {
      req.headers.back().second += "\n" + line;
      continue;
    }
    const auto colon = line.find(':');
    req.headers.emplace_back(line.substr(0, colon), line.substr(colon + 1));
  }
  if (pos <= text.size()) req.body = text.substr(pos);
  return req;
}

struct SuiteContext {
  SigningParams params;
  std::chrono::seconds expires{0};
  bool sign_body = false;
};

SuiteContext parse_context(const std::string& json) {
  simdjson::dom::parser parser;
  const simdjson::dom::element root = parser.parse(json);
  SuiteContext ctx;
  const auto creds = root["credentials"];
  ctx.params.credentials.access_key_id = std::string(std::string_view(creds["access_key_id"]));
  ctx.params.credentials.secret_access_key =
      std::string(std::string_view(creds["secret_access_key"]));
  std::string_view token;
  if (creds["token"].get(token) == simdjson::SUCCESS) {
    ctx.params.credentials.session_token = std::string(token);
  }
  bool omit_token = false;
  if (root["omit_session_token"].get(omit_token) == simdjson::SUCCESS && omit_token) {
    // The token is attached after signing in these cases, so it is not signed.
    ctx.params.credentials.session_token.clear();
  }
  ctx.params.region = std::string(std::string_view(root["region"]));
  ctx.params.service = std::string(std::string_view(root["service"]));
  bool normalize = true;
  if (root["normalize"].get(normalize) == simdjson::SUCCESS) ctx.params.normalize_path = normalize;
  std::string stamp{std::string_view(root["timestamp"])};  // 2015-08-30T12:36:00Z
  std::erase(stamp, '-');
  std::erase(stamp, ':');
  ctx.params.time = parse_amz_date(stamp).value();
  ctx.expires = std::chrono::seconds(int64_t(root["expiration_in_seconds"]));
  bool sign_body = false;
  if (root["sign_body"].get(sign_body) == simdjson::SUCCESS) ctx.sign_body = sign_body;
  return ctx;
}

std::string host_of(const http::Headers& headers) {
  for (const auto& [name, value] : headers) {
    if (name == "Host" || name == "host") return value;
  }
  return "example.amazonaws.com";
}

std::vector<std::string> case_names() {
  std::vector<std::string> names;
  std::error_code ec;
  if (!fs::is_directory(suite_dir(), ec)) return {"suite_absent"};
  for (const auto& entry : fs::directory_iterator(suite_dir())) {
    if (fs::exists(entry.path() / "context.json")) names.push_back(entry.path().filename());
  }
  std::sort(names.begin(), names.end());
  return names;
}

class SigV4Suite : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    // The suite is part of the repository, so its absence is a broken
    // checkout or a wrong ECR_REFERENCE_DIR, never a reason to skip.
    if (GetParam() == "suite_absent") {
      FAIL() << "SigV4 test suite not found at " << suite_dir()
             << " (it is vendored in third_party/aws: is the checkout complete?)";
    }
    dir_ = suite_dir() / GetParam();
    request_ = parse_request(read_file(dir_ / "request.txt"));
    context_ = parse_context(read_file(dir_ / "context.json"));
  }
  std::string expected(const char* file) {
    std::string text = read_file(dir_ / file);
    while (!text.empty() && text.back() == '\n') text.pop_back();
    return text;
  }
  http::Request make_request() const {
    http::Request req;
    req.method = request_.method;
    req.url = "https://" + host_of(request_.headers) + request_.target;
    req.headers = request_.headers;
    req.body = request_.body;
    return req;
  }

  fs::path dir_;
  SuiteRequest request_;
  SuiteContext context_;
};

TEST_P(SigV4Suite, HeaderSigningMatchesSuite) {
  http::Request req = make_request();
  if (context_.sign_body) {
    // "sign_body" asks the signer to send and sign X-Amz-Content-SHA256.
    req.headers.emplace_back("X-Amz-Content-SHA256", sha256_hex(request_.body));
  }
  const Signature sig = sign_headers(req, context_.params);
  EXPECT_EQ(sig.canonical_request, expected("header-canonical-request.txt"));
  EXPECT_EQ(sig.string_to_sign, expected("header-string-to-sign.txt"));
  EXPECT_EQ(sig.signature, expected("header-signature.txt"));
  const std::string signed_request = read_file(dir_ / "header-signed-request.txt");
  EXPECT_NE(signed_request.find("Authorization:" + sig.authorization + "\n"), std::string::npos)
      << sig.authorization;
}

TEST_P(SigV4Suite, QuerySigningMatchesSuite) {
  const http::Request req = make_request();
  const Signature sig =
      presign_url(req, context_.params, context_.expires, sha256_hex(request_.body));
  EXPECT_EQ(sig.canonical_request, expected("query-canonical-request.txt"));
  EXPECT_EQ(sig.string_to_sign, expected("query-string-to-sign.txt"));
  EXPECT_EQ(sig.signature, expected("query-signature.txt"));
  EXPECT_TRUE(sig.signed_url.ends_with("&X-Amz-Signature=" + sig.signature)) << sig.signed_url;
}

std::string test_name(const ::testing::TestParamInfo<std::string>& info) {
  std::string name = info.param;
  std::replace(name.begin(), name.end(), '-', '_');
  return name;
}

INSTANTIATE_TEST_SUITE_P(Official, SigV4Suite, ::testing::ValuesIn(case_names()), test_name);

}  // namespace
}  // namespace ecr::aws
