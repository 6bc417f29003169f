// Real ECR requests signed by sign_headers() and by botocore's SigV4Auth for
// the same request and time must carry the same Authorization header.
// botocore is the peer nobody here wrote; tests/aws/botocore_sign.py drives it.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>

#include "aws/amz_date.hpp"
#include "aws/sigv4.hpp"

namespace ecr::aws {
namespace {

constexpr const char* kTarget = "AmazonEC2ContainerRegistry_V20150921.";

std::string base64(std::string_view data) {
  std::string out(4 * ((data.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(data.data()),
                                static_cast<int>(data.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

// Test inputs are ASCII; quotes and backslashes are the only escapes needed.
std::string json_string(std::string_view s) {
  std::string out = "\"";
  for (const char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

// A temp file that deletes itself.
class TempFile {
 public:
  explicit TempFile(const std::string& contents) {
    std::string templ = ::testing::TempDir() + "botocore_spec_XXXXXX";
    const int fd = mkstemp(templ.data());
    if (fd < 0) throw std::runtime_error("mkstemp failed");
    close(fd);
    path_ = templ;
    std::ofstream(path_, std::ios::binary) << contents;
  }
  ~TempFile() { std::remove(path_.c_str()); }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

struct PipeCloser {
  void operator()(FILE* f) const { pclose(f); }
};

// What botocore_sign.py answered: exit status 127 is the shell's "python3 not
// found", 3 is the script's "botocore not importable".
struct BotocoreAnswer {
  int exit_status = 0;
  std::string authorization;
  bool unavailable() const { return exit_status == 127 || exit_status == 3; }
};

// Runs botocore on `request` (before signing).
BotocoreAnswer botocore_authorization(const http::Request& request, const SigningParams& params) {
  std::string spec = "{\"method\":" + json_string(request.method) +
                     ",\"url\":" + json_string(request.url) + ",\"headers\":[";
  for (std::size_t i = 0; i < request.headers.size(); ++i) {
    if (i > 0) spec += ',';
    spec += "[" + json_string(request.headers[i].first) + "," +
            json_string(request.headers[i].second) + "]";
  }
  spec += "],\"body\":" + json_string(base64(request.body)) +
          ",\"region\":" + json_string(params.region) +
          ",\"service\":" + json_string(params.service) +
          ",\"access_key\":" + json_string(params.credentials.access_key_id) +
          ",\"secret_key\":" + json_string(params.credentials.secret_access_key) +
          ",\"token\":" + json_string(params.credentials.session_token) +
          ",\"timestamp\":" + json_string(format_amz_date(params.time)) + "}";
  const TempFile input(spec);
  const std::string command =
      "python3 '" ECR_SOURCE_DIR "/tests/aws/botocore_sign.py' < '" + input.path() + "'";
  std::string output;
  int status = 0;
  {
    std::unique_ptr<FILE, PipeCloser> pipe(popen(command.c_str(), "r"));
    if (!pipe) return {127, {}};
    char buf[512];
    std::size_t n;
    while ((n = fread(buf, 1, sizeof buf, pipe.get())) > 0) output.append(buf, n);
    status = pclose(pipe.release());
  }
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, output};
}

SigningParams ecr_params(std::string session_token = {}) {
  SigningParams params;
  params.credentials = {"AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                        std::move(session_token)};
  params.region = "eu-west-1";
  params.service = "ecr";
  params.time = parse_amz_date("20240229T235959Z").value();
  return params;
}

http::Request ecr_request(const std::string& operation, std::string_view body,
                          std::string url = "https://api.ecr.eu-west-1.amazonaws.com/") {
  http::Request req;
  req.method = "POST";
  req.url = std::move(url);
  req.headers = {{"Content-Type", "application/x-amz-json-1.1"},
                 {"X-Amz-Target", kTarget + operation},
                 {"User-Agent", "ecr-cpp/0.1 (botocore comparison)"}};
  req.body = body;
  return req;
}

void expect_same_as_botocore(http::Request request, const SigningParams& params) {
  const BotocoreAnswer expected = botocore_authorization(request, params);
  if (expected.unavailable()) GTEST_SKIP() << "python3 with botocore is not available";
  ASSERT_EQ(expected.exit_status, 0) << "tests/aws/botocore_sign.py failed";
  const Signature sig = sign_headers(request, params);
  EXPECT_EQ(sig.authorization, expected.authorization);
}

TEST(SigV4Botocore, GetAuthorizationTokenEmptyBody) {
  expect_same_as_botocore(ecr_request("GetAuthorizationToken", "{}"), ecr_params());
}

TEST(SigV4Botocore, CreateRepositoryWithSessionToken) {
  const std::string body =
      R"({"repositoryName":"team/app","imageTagMutability":"IMMUTABLE","tags":[{"Key":"k","Value":"v w"}]})";
  expect_same_as_botocore(ecr_request("CreateRepository", body),
                          ecr_params("IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJH+/=="));
}

TEST(SigV4Botocore, UploadLayerPartWithLargeBody) {
  std::string blob(300000, '\0');
  for (std::size_t i = 0; i < blob.size(); ++i) blob[i] = static_cast<char>((i * 7919) % 251);
  const std::string body = R"({"registryId":"123456789012","repositoryName":"app","uploadId":"u1",)"
                           R"("partFirstByte":0,"partLastByte":299999,"layerPartBlob":")" +
                           base64(blob) + "\"}";
  expect_same_as_botocore(ecr_request("UploadLayerPart", body), ecr_params("token/with+chars"));
}

TEST(SigV4Botocore, LocalEndpointWithPortAndOddHeaderWhitespace) {
  http::Request req =
      ecr_request("DescribeRepositories", R"({"maxResults":5})", "http://127.0.0.1:5000/");
  req.headers.emplace_back("X-Custom", "  a   b  ");
  expect_same_as_botocore(req, ecr_params());
}

TEST(SigV4Botocore, DefaultPortIsLeftOutOfHost) {
  expect_same_as_botocore(ecr_request("ListImages", R"({"repositoryName":"app"})",
                                      "https://api.ecr.eu-west-1.amazonaws.com:443/"),
                          ecr_params());
}

}  // namespace
}  // namespace ecr::aws
