// Error names from the wire become the model's typed errors, and ecr-local's
// error documents carry the modeled fields back.
#include <gtest/gtest.h>

#include "api/error_document.hpp"
#include "ecr/service_errors.hpp"

namespace ecr {
namespace {

TEST(ServiceErrors, InvalidLayerPartCarriesLastValidByteFromTheBody) {
  try {
    api::throw_service_error(
        "InvalidLayerPartException", "gap before byte 100", 400, "req-1",
        R"({"__type":"InvalidLayerPartException","message":"gap before byte 100",)"
        R"("registryId":"123456789012","repositoryName":"app","uploadId":"u-1",)"
        R"("lastValidByteReceived":99})");
    FAIL() << "no exception";
  } catch (const api::InvalidLayerPartException& e) {
    EXPECT_EQ(e.name(), "InvalidLayerPartException");
    EXPECT_EQ(e.message(), "gap before byte 100");
    EXPECT_EQ(e.http_status(), 400);
    EXPECT_EQ(e.request_id(), "req-1");
    EXPECT_EQ(e.lastValidByteReceived(), 99);
    EXPECT_EQ(e.registryId(), "123456789012");
    EXPECT_EQ(e.repositoryName(), "app");
    EXPECT_EQ(e.uploadId(), "u-1");
  }
}

TEST(ServiceErrors, RepositoryNotFoundIsTypedAndAServiceError) {
  try {
    api::throw_service_error("RepositoryNotFoundException", "no repo", 400, "", "{}");
    FAIL() << "no exception";
  } catch (const api::RepositoryNotFoundException& e) {
    const ServiceError& base = e;
    EXPECT_EQ(base.name(), "RepositoryNotFoundException");
    EXPECT_EQ(base.message(), "no repo");
    EXPECT_EQ(base.kind(), ErrorKind::kService);
  }
}

TEST(ServiceErrors, UnknownNameStaysAPlainServiceError) {
  try {
    api::throw_service_error("SomethingNewException", "new", 409, "r", "{}");
    FAIL() << "no exception";
  } catch (const ServiceError& e) {
    EXPECT_EQ(typeid(e), typeid(ServiceError));
    EXPECT_EQ(e.name(), "SomethingNewException");
    EXPECT_EQ(e.message(), "new");
    EXPECT_EQ(e.http_status(), 409);
  }
}

TEST(ServiceErrors, BodyThatIsNotJsonStillGivesTheTypedError) {
  try {
    api::throw_service_error("InvalidLayerPartException", "m", 400, "", "<html>bad gateway</html>");
    FAIL() << "no exception";
  } catch (const api::InvalidLayerPartException& e) {
    EXPECT_FALSE(e.lastValidByteReceived().has_value());
  }
}

TEST(ServiceErrors, ModeledFaultDefaultsToStatus500) {
  EXPECT_EQ(api::ServerException("boom").http_status(), 500);
  EXPECT_EQ(api::RepositoryNotFoundException("x").http_status(), 400);
}

TEST(ServiceErrors, ErrorDocumentWritesTypeMessageAndFields) {
  const api::InvalidLayerPartException error(
      "gap", api::InvalidLayerPartException::Fields{99, "123456789012", "app", "u-1"});
  EXPECT_EQ(api::error_document(error),
            R"({"__type":"InvalidLayerPartException","message":"gap","lastValidByteReceived":99,)"
            R"("registryId":"123456789012","repositoryName":"app","uploadId":"u-1"})");
  EXPECT_EQ(api::error_document(api::RepositoryNotFoundException("no \"x\"")),
            R"({"__type":"RepositoryNotFoundException","message":"no \"x\""})");
}

TEST(ServiceErrors, ErrorDocumentReadsBackAsTheSameError) {
  const api::KmsException sent("denied", api::KmsException::Fields{"AccessDenied"});
  try {
    api::throw_service_error(sent.name(), sent.message(), 400, "", api::error_document(sent));
    FAIL() << "no exception";
  } catch (const api::KmsException& e) {
    EXPECT_EQ(e.kmsError(), "AccessDenied");
  }
}

}  // namespace
}  // namespace ecr
