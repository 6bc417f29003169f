// TLS verification of the curl transport against an https server on loopback
// whose certificate the test makes itself (self-signed, for IP 127.0.0.1).
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "ecr/error.hpp"
#include "http/local_server.hpp"
#include "http/transport.hpp"
#include "support/self_signed_certificate.hpp"

namespace ecr::http {
namespace {

using ecr::testing::LocalServer;
using ecr::testing::SelfSignedCertificate;

class TlsTest : public ::testing::Test {
 protected:
  TlsTest()
      : server_(
            [](httplib::Server& s) {
              s.Get("/hello", [](const httplib::Request&, httplib::Response& res) {
                res.set_content("hello over tls", "text/plain");
              });
            },
            std::make_unique<httplib::SSLServer>(certificate_.cert_path().c_str(),
                                                 certificate_.key_path().c_str()),
            "https") {}

  SelfSignedCertificate certificate_;
  LocalServer server_;
};

TEST_F(TlsTest, UnknownIssuerIsRefusedByDefault) {
  auto transport = make_curl_transport();
  try {
    transport->send(Request{"GET", server_.url("/hello"), {}, {}});
    FAIL() << "expected TransportError";
  } catch (const TransportError& error) {
    EXPECT_NE(std::string(error.what()).find("certificate"), std::string::npos) << error.what();
    EXPECT_FALSE(error.timeout());
  }
}

TEST_F(TlsTest, CaBundleMakesTheCertificateTrusted) {
  TransportOptions options;
  options.ca_bundle = certificate_.cert_path();
  auto transport = make_curl_transport(options);

  Response response = transport->send(Request{"GET", server_.url("/hello"), {}, {}});

  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.body, "hello over tls");
}

TEST_F(TlsTest, VerificationCanBeTurnedOff) {
  TransportOptions options;
  options.verify_tls = false;
  auto transport = make_curl_transport(options);

  EXPECT_EQ(transport->send(Request{"GET", server_.url("/hello"), {}, {}}).body, "hello over tls");
}

}  // namespace
}  // namespace ecr::http
