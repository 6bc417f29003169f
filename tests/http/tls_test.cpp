// TLS verification of the curl transport against an https server on loopback
// whose certificate the test makes itself (self-signed, for IP 127.0.0.1).
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>

#include "ecr/error.hpp"
#include "http/local_server.hpp"
#include "http/transport.hpp"

namespace ecr::http {
namespace {

namespace fs = std::filesystem;
using ecr::testing::LocalServer;

struct PkeyFree {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
struct X509Free {
  void operator()(X509* cert) const { X509_free(cert); }
};
struct FileClose {
  void operator()(FILE* file) const { std::fclose(file); }
};

void check(bool ok, const char* what) {
  if (!ok) throw std::runtime_error(std::string("making the test certificate: ") + what);
}

void add_extension(X509* cert, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  check(ext != nullptr, "extension");
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
}

// A self-signed P-256 certificate for 127.0.0.1 valid for an hour, written as
// PEM files cert.pem and key.pem in a directory removed with the object.
class SelfSignedCertificate {
 public:
  SelfSignedCertificate()
      : dir_(fs::temp_directory_path() / ("ecr-tls-test-" + std::to_string(::getpid()))) {
    fs::create_directories(dir_);
    std::unique_ptr<EVP_PKEY, PkeyFree> key(EVP_EC_gen("P-256"));
    check(key != nullptr, "key");
    std::unique_ptr<X509, X509Free> cert(X509_new());
    X509_set_version(cert.get(), 2);
    ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), 1);
    X509_gmtime_adj(X509_getm_notBefore(cert.get()), -60);
    X509_gmtime_adj(X509_getm_notAfter(cert.get()), 3600);
    X509_set_pubkey(cert.get(), key.get());
    X509_NAME* name = X509_get_subject_name(cert.get());
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>("127.0.0.1"), -1, -1, 0);
    X509_set_issuer_name(cert.get(), name);
    add_extension(cert.get(), NID_basic_constraints, "critical,CA:TRUE");
    add_extension(cert.get(), NID_subject_alt_name, "IP:127.0.0.1");
    check(X509_sign(cert.get(), key.get(), EVP_sha256()) > 0, "sign");

    std::unique_ptr<FILE, FileClose> cert_file(std::fopen(cert_path().c_str(), "w"));
    std::unique_ptr<FILE, FileClose> key_file(std::fopen(key_path().c_str(), "w"));
    check(cert_file && key_file, "open files");
    check(PEM_write_X509(cert_file.get(), cert.get()) == 1, "write cert");
    check(
        PEM_write_PrivateKey(key_file.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) == 1,
        "write key");
  }
  ~SelfSignedCertificate() {
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
  }

  std::string cert_path() const { return (dir_ / "cert.pem").string(); }
  std::string key_path() const { return (dir_ / "key.pem").string(); }

 private:
  fs::path dir_;
};

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
