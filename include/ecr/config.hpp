// How a client finds its credentials, region and endpoint.
//
// Resolution follows the AWS CLI and SDKs:
//   credentials: ClientConfig::credentials > AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY
//                (+ AWS_SESSION_TOKEN) > shared credentials file > config file
//                > credential_process of the profile > InputError listing what
//                was searched.
//   profile:     ClientConfig::profile > AWS_PROFILE > "default".
//   region:      ClientConfig::region > AWS_REGION > AWS_DEFAULT_REGION > profile
//                `region` > InputError.
//   endpoint:    ClientConfig::endpoint_url > AWS_ENDPOINT_URL_ECR > AWS_ENDPOINT_URL
//                > https://api.ecr.<region>.<DNS suffix of the region's partition>
//                (amazonaws.com; amazonaws.com.cn for cn- regions, c2s.ic.gov
//                and the like for the ISO partitions)
//   CA bundle:   ClientConfig::ca_bundle > AWS_CA_BUNDLE > profile `ca_bundle`
//                > the system's trust store (the certificates https servers,
//                ecr-local with --tls-cert among them, are verified against)
//   attempts:    ClientConfig::max_attempts > AWS_MAX_ATTEMPTS > profile
//                `max_attempts` > 3 (the AWS standard retry mode's); 1 to 100
//   stall:       ClientConfig::stall_timeout > ECR_STALL_TIMEOUT (whole seconds)
//                > 15 s; 1 to 3600 seconds
//
// Files: AWS_SHARED_CREDENTIALS_FILE (default $HOME/.aws/credentials) holds
// `[name]` sections; AWS_CONFIG_FILE (default $HOME/.aws/config) holds
// `[default]` and `[profile name]`. A profile's keys are looked up in the
// credentials file first, then the config file. Missing files are not an
// error. Environment variables set to "" count as unset.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <string>

namespace ecr {

struct Credentials {
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;  // empty when none
};

// The process environment as a lookup function, so tests inject their own.
using Environment = std::function<std::optional<std::string>(const std::string& name)>;
// Looks names up with getenv() at call time.
Environment process_environment();

// Attempts per request, the first included, of the AWS standard retry mode.
inline constexpr int kDefaultMaxAttempts = 3;
// A transfer whose connection delivers no byte for this long is aborted and
// retried or resumed (a dead NAT entry, a half-open TCP connection). Long
// enough for a registry to answer a big part or a CompleteLayerUpload.
inline constexpr std::chrono::seconds kDefaultStallTimeout{15};

struct ClientConfig {
  std::optional<Credentials> credentials;
  std::optional<std::string> profile;
  std::optional<std::string> region;
  std::optional<std::string> endpoint_url;
  // A PEM file of the certificate authorities to trust instead of the
  // system's (a private CA, a self-signed ecr-local).
  std::optional<std::string> ca_bundle;
  // Attempts per request, first try included; unset: AWS_MAX_ATTEMPTS, the
  // profile's `max_attempts`, else kDefaultMaxAttempts.
  std::optional<int> max_attempts;
  // A request that moves no byte either way for this long is abandoned and
  // retried (a download resumes from its last byte, an upload from the
  // registry's lastValidByteReceived). Unset: ECR_STALL_TIMEOUT, else
  // kDefaultStallTimeout.
  std::optional<std::chrono::seconds> stall_timeout;
  std::chrono::milliseconds connect_timeout{10'000};
  bool verify_tls = true;
  // Called with each request and response when set (the CLI's --debug); secrets
  // are redacted before the call.
  std::function<void(const std::string& line)> debug;
  // Testing only: the client reads its local clock as the system clock plus
  // this shift, to play a machine whose clock is wrong (see ecr/clock.hpp
  // for the correction that follows). Leave at zero.
  std::chrono::seconds test_clock_shift{0};
};

// The settings a client ends up with after resolution.
struct ResolvedConfig {
  Credentials credentials;
  std::string region;
  std::string endpoint_url;  // scheme://host[:port], no trailing slash
  std::string profile;
  std::string ca_bundle;                   // a readable file, or empty: the system's trust store
  int max_attempts = kDefaultMaxAttempts;  // per request, the first included
  std::chrono::seconds stall_timeout = kDefaultStallTimeout;
};

// Resolves region and endpoint, then credentials, as described above. May
// read the two shared files and run the profile's credential_process (via
// /bin/sh -c; its stdout must be the Version 1 JSON document). Throws
// InputError when no region or no credentials are found (the message lists
// every place searched), when a profile named by ClientConfig::profile or
// AWS_PROFILE exists in neither file ("profile 'x' not found in <files>"),
// when a shared file is malformed (file:line), when only half of a key pair
// is set, when credential_process fails (its stderr is in the message), when
// the region is not made of letters, digits and '-', when the endpoint is
// not http(s)://host[:port], when the CA bundle cannot be read (the
// message names the file and where its name came from), or when max_attempts
// is not a whole number from 1 to 100 or the stall timeout not one from 1 to
// 3600 (the message names where it came from).
ResolvedConfig resolve_config(const ClientConfig& config,
                              const Environment& env = process_environment());

// The endpoint configuration names, before any fallback to the region's:
// ClientConfig::endpoint_url > AWS_ENDPOINT_URL_ECR > AWS_ENDPOINT_URL, as
// scheme://host[:port]; nullopt when none is set. Needs no region or
// credentials. Throws InputError as resolve_config does for a malformed
// endpoint.
std::optional<std::string> configured_endpoint(const ClientConfig& config,
                                               const Environment& env = process_environment());

}  // namespace ecr
