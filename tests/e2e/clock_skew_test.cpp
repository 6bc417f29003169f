// A machine whose clock is wrong, against a real ecr-local: a request signed
// with that clock alone is refused ("Signature expired" an hour behind,
// "Signature not yet current" twenty minutes ahead), and the library
// corrects its clock from ecr-local's Date header and carries on: the API
// calls and a whole push and pull succeed.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <ostream>
#include <string>

#include "aws/clock_skew.hpp"
#include "aws/sigv4.hpp"
#include "e2e/e2e_support.hpp"
#include "ecr/client.hpp"
#include "ecr/clock.hpp"
#include "ecr/config.hpp"
#include "ecr/reference.hpp"
#include "ecr/transfer.hpp"
#include "http/http_date.hpp"
#include "http/transport.hpp"
#include "support/ecr_local_server.hpp"

namespace ecr {
namespace {

using namespace std::chrono;
using namespace e2e;

struct Skew {
  seconds shift;        // the local clock minus the true time
  const char* name;     // for test names and repositories
  const char* refusal;  // how ecr-local's message starts
};

// gtest shows the parameter by name.
void PrintTo(const Skew& skew, std::ostream* out) { *out << skew.name; }

// Off by more than SigV4's 15 minutes either way.
const Skew kBehind{-1h, "behind", "Signature expired: "};
const Skew kAhead{20min, "ahead", "Signature not yet current: "};

class ClockSkew : public EcrLocalSuite, public ::testing::WithParamInterface<Skew> {
 protected:
  // The correction is process-wide: every test starts from none.
  void SetUp() override { aws::set_clock_correction(milliseconds(0)); }
  void TearDown() override { aws::set_clock_correction(milliseconds(0)); }

  static ClientConfig skewed_config() {
    ClientConfig c;
    c.credentials =
        Credentials{testing::EcrLocalServer::kAccessKey, testing::EcrLocalServer::kSecretKey, ""};
    c.region = testing::EcrLocalServer::kRegion;
    c.endpoint_url = server_->endpoint_url();
    c.test_clock_shift = GetParam().shift;
    return c;
  }

  // `operation` signed with the skewed clock and sent once, with no
  // correction: what ecr-local makes of the signature itself.
  static http::Response signed_without_correction(const std::string& operation,
                                                  const std::string& body) {
    http::Request request;
    request.method = "POST";
    request.url = server_->endpoint_url() + "/";
    request.headers = {{"Content-Type", "application/x-amz-json-1.1"},
                       {"X-Amz-Target", "AmazonEC2ContainerRegistry_V20150921." + operation}};
    request.body = body;
    aws::SigningParams signing;
    signing.credentials = *skewed_config().credentials;
    signing.region = testing::EcrLocalServer::kRegion;
    signing.service = "ecr";
    signing.time = system_clock::now() + GetParam().shift;
    aws::sign_headers(request, signing);
    return http::make_curl_transport()->send(request);
  }

  static std::string repository(const std::string& what) {
    return std::string("skew-") + GetParam().name + "/" + what;
  }

  // The correction must undo the shift, to the Date header's second.
  static void expect_correction_undoes_the_shift() {
    const milliseconds expected = -duration_cast<milliseconds>(GetParam().shift);
    EXPECT_LE(aws::clock_correction(), expected + 3s);
    EXPECT_GE(aws::clock_correction(), expected - 3s);
    EXPECT_EQ(ecr::clock_correction(), aws::clock_correction());
  }
};

TEST_P(ClockSkew, ARequestSignedWithTheWrongClockIsRefusedWithTheServersDate) {
  const http::Response answer = signed_without_correction("DescribeRepositories", "{}");

  EXPECT_EQ(answer.status, 403);
  EXPECT_EQ(http::find_header(answer.headers, "x-amzn-ErrorType"), "InvalidSignatureException");
  EXPECT_NE(answer.body.find(std::string("\"message\":\"") + GetParam().refusal), std::string::npos)
      << answer.body;
  const auto date = http::find_header(answer.headers, "Date");
  ASSERT_TRUE(date.has_value());
  const auto server_time = http::parse_http_date(*date);
  ASSERT_TRUE(server_time.has_value()) << *date;
  EXPECT_LE(abs(*server_time - system_clock::now()), 3s) << *date;
}

TEST_P(ClockSkew, DescribeAndCreateRepositoriesSucceedAfterOneCorrection) {
  const int describes = server_->requests("DescribeRepositories");
  const int creates = server_->requests("CreateRepository");
  Client client(skewed_config());

  const std::string listed = client.call_json("DescribeRepositories", "{}");
  const std::string created = client.call_json(
      "CreateRepository", R"({"repositoryName":")" + repository("created") + R"("})");

  EXPECT_NE(listed.find("\"repositories\""), std::string::npos) << listed;
  EXPECT_NE(created.find("\"repositoryName\":\"" + repository("created") + "\""), std::string::npos)
      << created;
  expect_correction_undoes_the_shift();
  // The first call was refused once and signed again; the second, signed
  // with the correction, went through at once.
  EXPECT_EQ(server_->requests("DescribeRepositories") - describes, 2);
  EXPECT_EQ(server_->requests("CreateRepository") - creates, 1);
}

TEST_P(ClockSkew, AnotherClientOfTheProcessSignsWithTheCorrectionAtOnce) {
  Client(skewed_config()).call_json("DescribeRepositories", "{}");
  const int before = server_->requests("DescribeRepositories");

  Client(skewed_config()).call_json("DescribeRepositories", "{}");

  EXPECT_EQ(server_->requests("DescribeRepositories") - before, 1);
}

TEST_P(ClockSkew, AWholePushAndPullSucceed) {
  const ImageReference ref = ImageReference::parse(repository("hello") + ":v1");
  TransferOptions options;
  options.create_repository = true;
  const std::filesystem::path pulled =
      work_ / (std::string("skew-") + GetParam().name + "-pulled.oci.tar");

  const PushResult pushed = push("oci-archive:" + kOciArchive, ref, skewed_config(), options);
  const PullResult pull_result =
      pull(ref, "oci-archive:" + pulled.string(), skewed_config(), TransferOptions{});

  EXPECT_EQ(pushed.digest.str(), kHelloDigest);
  EXPECT_EQ(pull_result.digest.str(), kHelloDigest);
  EXPECT_TRUE(std::filesystem::is_regular_file(pulled));
  expect_correction_undoes_the_shift();
}

INSTANTIATE_TEST_SUITE_P(LocalClock, ClockSkew, ::testing::Values(kBehind, kAhead),
                         [](const auto& test) { return std::string(test.param.name); });

}  // namespace
}  // namespace ecr
