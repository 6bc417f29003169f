// ecr-local's TLS set-up from PEM files: a usable pair loads, and every way a
// pair can be unusable is refused with an InputError naming the file.
#include "server/tls_context.hpp"

#include <gtest/gtest.h>

#include <boost/asio/ssl/context.hpp>
#include <fstream>
#include <functional>
#include <string>

#include "ecr/error.hpp"
#include "support/self_signed_certificate.hpp"

namespace ecr::server {
namespace {

using testing::SelfSignedCertificate;

std::string message_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const InputError& e) {
    return e.what();
  }
  return "<no InputError>";
}

class TlsContext : public ::testing::Test {
 protected:
  std::string error(const std::string& cert, const std::string& key) {
    return message_of([&] { make_tls_context(cert, key); });
  }
  std::string file(const char* name, const std::string& text) {
    const std::string path = (certificate_.directory() / name).string();
    std::ofstream(path) << text;
    return path;
  }

  SelfSignedCertificate certificate_;
};

TEST_F(TlsContext, MatchingCertificateAndKeyLoad) {
  EXPECT_NE(make_tls_context(certificate_.cert_path(), certificate_.key_path()), nullptr);
}

TEST_F(TlsContext, MissingFilesAreNamedWithTheSystemsReason) {
  const std::string missing = (certificate_.directory() / "missing.pem").string();
  EXPECT_EQ(error(missing, certificate_.key_path()),
            "cannot read the TLS certificate " + missing + ": No such file or directory");
  EXPECT_EQ(error(certificate_.cert_path(), missing),
            "cannot read the TLS private key " + missing + ": No such file or directory");
}

TEST_F(TlsContext, FilesThatAreNotPemAreNamed) {
  const std::string junk = file("junk.pem", "not pem at all\n");
  EXPECT_EQ(error(junk, certificate_.key_path())
                .rfind("TLS certificate " + junk + " is not a PEM certificate chain", 0),
            0u)
      << error(junk, certificate_.key_path());
  EXPECT_EQ(error(certificate_.cert_path(), junk)
                .rfind("TLS private key " + junk + " is not a PEM private key", 0),
            0u)
      << error(certificate_.cert_path(), junk);
}

TEST_F(TlsContext, CertificateAndKeySwappedAreRefused) {
  EXPECT_NE(error(certificate_.key_path(), certificate_.cert_path()).find(certificate_.key_path()),
            std::string::npos);
}

TEST_F(TlsContext, KeyOfAnotherCertificateIsRefusedNamingBoth) {
  SelfSignedCertificate other;
  EXPECT_EQ(error(certificate_.cert_path(), other.key_path()),
            "TLS private key " + other.key_path() + " is not the key of certificate " +
                certificate_.cert_path());
}

TEST_F(TlsContext, EncryptedKeyIsRefusedWithoutPrompting) {
  const std::string encrypted = certificate_.write_encrypted_key("secret");
  EXPECT_EQ(error(certificate_.cert_path(), encrypted),
            "TLS private key " + encrypted +
                " is encrypted; give ecr-local the key without its passphrase");
}

}  // namespace
}  // namespace ecr::server
