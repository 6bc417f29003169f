#include "ecr/error.hpp"

#include <gtest/gtest.h>

namespace ecr {
namespace {

TEST(ServiceError, CarriesNameMessageStatusAndKind) {
  const ServiceError e("RepositoryNotFoundException", "no repo", 400, "req-1");
  EXPECT_EQ(e.name(), "RepositoryNotFoundException");
  EXPECT_EQ(e.message(), "no repo");
  EXPECT_EQ(e.http_status(), 400);
  EXPECT_EQ(e.request_id(), "req-1");
  EXPECT_EQ(e.kind(), ErrorKind::kService);
  EXPECT_STREQ(e.what(), "RepositoryNotFoundException: no repo");
}

TEST(ServiceError, ThrottlingCodesAreRetryable) {
  for (const char* name :
       {"Throttling", "ThrottlingException", "ThrottledException", "RequestThrottledException",
        "TooManyRequestsException", "ProvisionedThroughputExceededException",
        "TransactionInProgressException", "RequestLimitExceeded", "BandwidthLimitExceeded",
        "LimitExceededException", "RequestThrottled", "SlowDown", "PriorRequestNotComplete",
        "EC2ThrottledException"}) {
    EXPECT_TRUE(is_throttling_error(name)) << name;
    EXPECT_TRUE(ServiceError(name, "m", 400).retryable()) << name;
  }
}

TEST(ServiceError, TransientCodesAreRetryable) {
  for (const char* name :
       {"RequestTimeout", "RequestTimeoutException", "PriorRequestNotComplete"}) {
    EXPECT_TRUE(is_transient_error(name)) << name;
    EXPECT_TRUE(ServiceError(name, "m", 400).retryable()) << name;
  }
  EXPECT_FALSE(is_throttling_error("RequestTimeout"));
}

TEST(ServiceError, ServerStatusesAreRetryable) {
  for (int status : {500, 502, 503, 504}) {
    EXPECT_TRUE(ServiceError("ServerException", "m", status).retryable()) << status;
    EXPECT_TRUE(ServiceError("Whatever", "m", status).retryable()) << status;
  }
}

TEST(ServiceError, ClientErrorsAreNotRetryable) {
  for (const char* name : {"RepositoryNotFoundException", "InvalidParameterException",
                           "InvalidLayerPartException", "throttlingexception", "Throttling ", ""}) {
    EXPECT_FALSE(is_throttling_error(name)) << name;
    EXPECT_FALSE(ServiceError(name, "m", 400).retryable()) << name;
  }
  for (int status : {400, 403, 404, 429, 501, 505}) {
    EXPECT_FALSE(ServiceError("ServerException", "m", status).retryable()) << status;
  }
}

TEST(Error, KindsMatchTheirTypes) {
  EXPECT_EQ(TransportError("reset").kind(), ErrorKind::kTransport);
  EXPECT_TRUE(TransportError("reset").retryable());
  EXPECT_TRUE(TransportError("slow", true).timeout());
  EXPECT_EQ(InputError("bad").kind(), ErrorKind::kInput);
  EXPECT_EQ(IntegrityError("mismatch").kind(), ErrorKind::kIntegrity);
}

}  // namespace
}  // namespace ecr
