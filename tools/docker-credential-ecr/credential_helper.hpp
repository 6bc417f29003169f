// docker's credential-helper protocol (github.com/docker/docker-credential-
// helpers), over the project's credential chain. docker, podman, skopeo and
// buildah run `docker-credential-ecr ACTION` for the registries their
// configuration hands to it ("credHelpers": {"<host>": "ecr"}):
//
//   get      stdin: a server URL (host, or URL with scheme and path); stdout:
//            {"ServerURL":"<as given>","Username":"AWS","Secret":"<password>"}
//            from GetAuthorizationToken, cached until shortly before it
//            expires (token_cache.hpp)
//   list     stdout: {"<server>":"<username>",...} for every unexpired
//            token in the cache
//   store    stdin: the credentials `docker login` saves; read and ignored,
//   erase    stdin: a server URL; read and ignored: tokens come from the
//            credential chain, there is nothing to save or forget
//   version  stdout: "docker-credential-ecr <version>"
//
// Exit status 0, or 1 for every failure (as every helper of that project):
// the message goes to stdout, where docker reads it and shows it in its own
// error, and to stderr. A server that is neither an ECR registry host nor
// the configured endpoint answers exactly "credentials not found in native
// keychain", the protocol's signal for docker to look elsewhere. No secret
// (password, secret key, session token) is printed on stdout or stderr but
// the Secret of a successful `get`.
#pragma once

#include <filesystem>
#include <functional>
#include <iosfwd>
#include <optional>
#include <string>
#include <string_view>

#include "ecr/clock.hpp"
#include "ecr/config.hpp"
#include "token_cache.hpp"

namespace ecr::credential_helper {

inline constexpr int kExitFailure = 1;
// docker-credential-helpers' errCredentialsNotFoundMessage: docker compares
// the helper's stdout with it to fall back to its other credential stores.
inline constexpr std::string_view kNotFoundMessage = "credentials not found in native keychain";
// errCredentialsMissingServerURLMessage: `get` with an empty server URL.
inline constexpr std::string_view kMissingServerUrlMessage = "no credentials server URL";

// A registry login from GetAuthorizationToken.
struct AuthorizationToken {
  std::string username;
  std::string password;
  std::optional<Clock::time_point> expires_at;  // none: not cached
};

// Where tokens come from; tests put in their own.
using TokenSource = std::function<AuthorizationToken(
    const ResolvedConfig& config, const std::optional<std::string>& registry_id)>;

// GetAuthorizationToken at `config`'s endpoint through ecr::Client, with
// registryIds=[registry_id] when one is given. Throws what ecr::Client
// throws; InputError when the answer holds no token or one that is not
// base64 of "user:password" (the message never quotes the token).
AuthorizationToken fetch_authorization_token(const ResolvedConfig& config,
                                             const std::optional<std::string>& registry_id);

struct HelperOptions {
  Environment env = process_environment();
  // The time token expiries are compared with: ECR's, as far as this
  // process knows it (ecr/clock.hpp), since expiresAt is ECR's time.
  std::function<Clock::time_point()> now = [] { return corrected_now(); };
  // The token cache's directory; nothing is cached when unset.
  std::optional<std::filesystem::path> cache_dir;
  TokenSource fetch = fetch_authorization_token;
};

// Runs `action` ("get", "list", "store", "erase", "version", or "--help",
// "-h", "--version", "-v") reading `in` and writing `out` and `err`.
// Returns the exit status; never throws.
int run(std::string_view action, std::istream& in, std::ostream& out, std::ostream& err,
        const HelperOptions& options);

// What `--help` prints: the actions and the exit statuses.
std::string usage();

}  // namespace ecr::credential_helper
