// The TLS side of ecr-local's listener: a server context from PEM files.
// docker and podman speak only https to a registry that is not on localhost,
// so ecr-local serves TLS when it is given a certificate and a key.
#pragma once

#include <filesystem>
#include <memory>

namespace boost::asio::ssl {
class context;
}  // namespace boost::asio::ssl

namespace ecr::server {

// A TLS 1.2+ server context that presents the certificate chain in
// `certificate_file` (PEM: the server's certificate first, then any
// intermediates) with the private key in `key_file` (PEM, not encrypted:
// the server never prompts for a passphrase). Throws InputError naming the
// file when it cannot be read or holds no certificate (or key), and naming
// both when the key is not the certificate's.
std::unique_ptr<boost::asio::ssl::context> make_tls_context(
    const std::filesystem::path& certificate_file, const std::filesystem::path& key_file);

}  // namespace ecr::server
