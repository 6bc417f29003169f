#include "server/tls_context.hpp"

#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <boost/asio/ssl/context.hpp>
#include <cerrno>
#include <cstring>
#include <memory>
#include <string>

#include "core/file.hpp"
#include "ecr/error.hpp"

namespace ecr::server {
namespace {

// OpenSSL's first reason for the failure just seen ("no start line"); its
// error queue is left empty.
std::string openssl_reason() {
  const unsigned long code = ERR_peek_error();
  ERR_clear_error();
  const char* reason = ERR_reason_error_string(code);
  return reason ? reason : "OpenSSL error " + std::to_string(code);
}

// Whether the failure just seen was a key that is not the certificate's.
bool key_mismatch() {
  const unsigned long code = ERR_peek_last_error();
  return ERR_GET_LIB(code) == ERR_LIB_X509 && ERR_GET_REASON(code) == X509_R_KEY_VALUES_MISMATCH;
}

// A file the server cannot open is reported with the system's reason, which
// says more than OpenSSL's ("PEM lib").
void check_readable(const std::filesystem::path& file, const char* what) {
  const UniqueFd fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) {
    throw InputError(std::string("cannot read the ") + what + " " + file.string() + ": " +
                     std::strerror(errno));
  }
}

}  // namespace

std::unique_ptr<boost::asio::ssl::context> make_tls_context(
    const std::filesystem::path& certificate_file, const std::filesystem::path& key_file) {
  check_readable(certificate_file, "TLS certificate");
  check_readable(key_file, "TLS private key");
  auto context = std::make_unique<boost::asio::ssl::context>(boost::asio::ssl::context::tls_server);
  SSL_CTX* ssl = context->native_handle();
  // TLS 1.0 and 1.1 are deprecated (RFC 8996); docker, podman, curl and
  // botocore all speak 1.2 and 1.3.
  SSL_CTX_set_min_proto_version(ssl, TLS1_2_VERSION);
  // Renegotiation is a cheap way for a client to make the server do
  // handshakes; no client of a registry needs it.
  SSL_CTX_set_options(ssl, SSL_OP_NO_RENEGOTIATION);
  // An idle keep-alive connection gives its record buffers back.
  SSL_CTX_set_mode(ssl, SSL_MODE_RELEASE_BUFFERS);
  // Asked for when the key is encrypted: there is no one to prompt (OpenSSL
  // would read the terminal), so the answer is no passphrase, and the call
  // is noted for the error message.
  auto passphrase_asked = std::make_shared<bool>(false);
  context->set_password_callback(
      [passphrase_asked](std::size_t, boost::asio::ssl::context::password_purpose) {
        *passphrase_asked = true;
        return std::string();
      });

  if (SSL_CTX_use_certificate_chain_file(ssl, certificate_file.c_str()) != 1) {
    throw InputError("TLS certificate " + certificate_file.string() +
                     " is not a PEM certificate chain (OpenSSL: " + openssl_reason() + ")");
  }
  const bool key_loaded = SSL_CTX_use_PrivateKey_file(ssl, key_file.c_str(), SSL_FILETYPE_PEM) == 1;
  if (!key_loaded && *passphrase_asked) {
    ERR_clear_error();
    throw InputError("TLS private key " + key_file.string() +
                     " is encrypted; give ecr-local the key without its passphrase");
  }
  // A key of another type than the certificate's loads without complaint and
  // is caught by the check that follows.
  if ((!key_loaded && key_mismatch()) || (key_loaded && SSL_CTX_check_private_key(ssl) != 1)) {
    ERR_clear_error();
    throw InputError("TLS private key " + key_file.string() + " is not the key of certificate " +
                     certificate_file.string());
  }
  if (!key_loaded) {
    throw InputError("TLS private key " + key_file.string() +
                     " is not a PEM private key (OpenSSL: " + openssl_reason() + ")");
  }
  return context;
}

}  // namespace ecr::server
