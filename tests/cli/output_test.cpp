// What `ecr` prints: botocore's parsed response, json.dumps(indent=4).
#include <gtest/gtest.h>

#include "ecr/service_errors.hpp"
#include "ecr/transfer.hpp"
#include "exit_status.hpp"
#include "login_password.hpp"
#include "response_output.hpp"
#include "usage_error.hpp"

namespace ecr::cli {
namespace {

const api::model::OperationInfo& op(std::string_view name) {
  return *api::model::find_operation(name);
}

TEST(ResponseOutput, DropsUnmodeledAndNullMembersAndKeepsReceivedOrder) {
  const JsonValue response =
      parse_response(R"({"repository":{"repositoryUri":"u","extra":1,"createdAt":1795463572.183,)"
                     R"("registryId":null,"repositoryName":"app"},"unknown":"x"})",
                     op("CreateRepository"));
  EXPECT_EQ(
      to_compact_json(response),
      R"({"repository":{"repositoryUri":"u","createdAt":1795463572.183,"repositoryName":"app"}})");
}

TEST(ResponseOutput, PrintsPythonIndentFourJson) {
  const JsonValue response = parse_response(
      R"({"imageIds":[{"imageDigest":"sha256:ab","imageTag":"v1"}],"nextToken":"t"})",
      op("ListImages"));
  EXPECT_EQ(format_output(response),
            "{\n"
            "    \"imageIds\": [\n"
            "        {\n"
            "            \"imageDigest\": \"sha256:ab\",\n"
            "            \"imageTag\": \"v1\"\n"
            "        }\n"
            "    ],\n"
            "    \"nextToken\": \"t\"\n"
            "}\n");
}

TEST(ResponseOutput, EmptyResponsePrintsNothingAndEmptyListsPrintCompact) {
  EXPECT_EQ(format_output(parse_response("{}", op("TagResource"))), "");
  EXPECT_EQ(format_output(parse_response(R"({"imageIds":[]})", op("ListImages"))),
            "{\n    \"imageIds\": []\n}\n");
}

TEST(ResponseOutput, TimestampsStayAsOnTheWire) {
  EXPECT_EQ(format_output(parse_response(
                R"({"authorizationData":[{"expiresAt":1420070400,"proxyEndpoint":"p"}]})",
                op("GetAuthorizationToken"))),
            "{\n    \"authorizationData\": [\n        {\n            \"expiresAt\": 1420070400,\n"
            "            \"proxyEndpoint\": \"p\"\n        }\n    ]\n}\n");
}

TEST(ResponseOutput, AResponseThatIsNotJsonIsAnInputError) {
  EXPECT_THROW(parse_response("<html>", op("ListImages")), InputError);
}

TEST(LoginPassword, DecodesTheTokenAndDropsTheUser) {
  // base64("AWS:123456789012-auth-token"), what moto answers.
  EXPECT_EQ(login_password(R"({"authorizationData":[{"authorizationToken":)"
                           R"("QVdTOjEyMzQ1Njc4OTAxMi1hdXRoLXRva2Vu"}]})"),
            "123456789012-auth-token");
  EXPECT_THROW(login_password(R"({"authorizationData":[]})"), InputError);
}

Failure failure_of(const std::function<void()>& thrower, std::string_view operation) {
  try {
    thrower();
  } catch (...) {
    return describe_current_exception(operation);
  }
  return {-1, "nothing thrown"};
}

TEST(ExitStatus, UsageErrorsAre252) {
  const Failure f = failure_of(
      [] { throw UsageError("the following arguments are required: --x"); }, "CreateRepository");
  EXPECT_EQ(f.status, 252);
  EXPECT_EQ(f.message, "ecr: error: the following arguments are required: --x\n");
}

TEST(ExitStatus, ModelValidationBeforeSendingIs252) {
  const Failure f = failure_of(
      [] { throw api::ValidationError("repositoryName", "min length", "1 validation error"); },
      "CreateRepository");
  EXPECT_EQ(f.status, 252);
  EXPECT_EQ(f.message, "\nParameter validation failed: 1 validation error\n");
}

TEST(ExitStatus, ServiceErrorsAre254AndReadAsTheAwsCli) {
  const Failure f = failure_of(
      [] { throw api::RepositoryNotFoundException("The repository with name 'x' does not exist"); },
      "DescribeRepositories");
  EXPECT_EQ(f.status, 254);
  EXPECT_EQ(f.message,
            "\nAn error occurred (RepositoryNotFoundException) when calling the "
            "DescribeRepositories operation: The repository with name 'x' does not exist\n");
  EXPECT_EQ(failure_of([] { throw ServiceError("Unmodeled", "m", 500); }, "ListImages").status,
            254);
}

TEST(ExitStatus, ServiceErrorOutsideOneOperationNamesOnlyTheError) {
  const Failure f = failure_of([] { throw ServiceError("ImageNotFound", "no image hello:x"); }, "");
  EXPECT_EQ(f.status, 254);
  EXPECT_EQ(f.message, "\nAn error occurred (ImageNotFound): no image hello:x\n");
}

TEST(ExitStatus, InterruptedTransferIs130) {
  const Failure f = failure_of([] { throw Cancelled(); }, "");
  EXPECT_EQ(f.status, 130);
  EXPECT_EQ(f.message, "\ninterrupted\n");
}

TEST(ExitStatus, TransportInputAndIntegrityErrorsAre255) {
  const Failure transport = failure_of(
      [] { throw TransportError("Could not connect to the endpoint URL"); }, "ListImages");
  EXPECT_EQ(transport.status, 255);
  EXPECT_EQ(transport.message, "\nCould not connect to the endpoint URL\n");
  EXPECT_EQ(failure_of([] { throw InputError("no region"); }, "ListImages").status, 255);
  EXPECT_EQ(failure_of([] { throw IntegrityError("digest mismatch"); }, "").status, 255);
  EXPECT_EQ(failure_of([] { throw std::runtime_error("x"); }, "").status, 255);
}

}  // namespace
}  // namespace ecr::cli
