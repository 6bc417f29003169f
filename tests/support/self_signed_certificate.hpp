// A self-signed certificate for 127.0.0.1, made in-process with OpenSSL, for
// tests of https on loopback: the server presents it, and clients trust it
// as their CA bundle.
#pragma once

#include <filesystem>
#include <string>

namespace ecr::testing {

// A P-256 key and a certificate for IP 127.0.0.1 (subjectAltName; CA:TRUE,
// so it is its own trust anchor), valid for an hour, written as PEM files
// cert.pem and key.pem in a fresh temporary directory removed with the
// object. Throws std::runtime_error when they cannot be made.
class SelfSignedCertificate {
 public:
  SelfSignedCertificate();
  ~SelfSignedCertificate();
  SelfSignedCertificate(const SelfSignedCertificate&) = delete;
  SelfSignedCertificate& operator=(const SelfSignedCertificate&) = delete;

  std::string cert_path() const { return (dir_ / "cert.pem").string(); }
  std::string key_path() const { return (dir_ / "key.pem").string(); }
  // The same key written encrypted (AES-256) with `passphrase`; returns its path.
  std::string write_encrypted_key(const std::string& passphrase) const;
  const std::filesystem::path& directory() const { return dir_; }

 private:
  std::filesystem::path dir_;
};

}  // namespace ecr::testing
