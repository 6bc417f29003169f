#include "support/self_signed_certificate.hpp"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdlib.h>

#include <cerrno>
#include <cstdio>
#include <memory>
#include <stdexcept>
#include <system_error>

namespace ecr::testing {
namespace {

namespace fs = std::filesystem;

struct PkeyFree {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
struct X509Free {
  void operator()(X509* cert) const { X509_free(cert); }
};
struct FileClose {
  void operator()(FILE* file) const { std::fclose(file); }
};
using File = std::unique_ptr<FILE, FileClose>;

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

fs::path make_certificate_directory() {
  std::string pattern = (fs::temp_directory_path() / "ecr-tls-test-XXXXXX").string();
  if (!::mkdtemp(pattern.data())) {
    throw std::system_error(errno, std::generic_category(), "mkdtemp " + pattern);
  }
  return pattern;
}

std::unique_ptr<EVP_PKEY, PkeyFree> read_key(const std::string& path) {
  File file(std::fopen(path.c_str(), "r"));
  check(file != nullptr, "open key");
  std::unique_ptr<EVP_PKEY, PkeyFree> key(
      PEM_read_PrivateKey(file.get(), nullptr, nullptr, nullptr));
  check(key != nullptr, "read key");
  return key;
}

}  // namespace

SelfSignedCertificate::SelfSignedCertificate() : dir_(make_certificate_directory()) {
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

  File cert_file(std::fopen(cert_path().c_str(), "w"));
  File key_file(std::fopen(key_path().c_str(), "w"));
  check(cert_file && key_file, "open files");
  check(PEM_write_X509(cert_file.get(), cert.get()) == 1, "write cert");
  check(PEM_write_PrivateKey(key_file.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) == 1,
        "write key");
}

SelfSignedCertificate::~SelfSignedCertificate() {
  std::error_code ignored;
  fs::remove_all(dir_, ignored);
}

std::string SelfSignedCertificate::write_encrypted_key(const std::string& passphrase) const {
  const std::string path = (dir_ / "encrypted-key.pem").string();
  auto key = read_key(key_path());
  File file(std::fopen(path.c_str(), "w"));
  check(file != nullptr, "open encrypted key");
  check(PEM_write_PrivateKey(file.get(), key.get(), EVP_aes_256_cbc(), nullptr, 0, nullptr,
                             const_cast<char*>(passphrase.c_str())) == 1,
        "write encrypted key");
  return path;
}

}  // namespace ecr::testing
