// resolve_config(): region, endpoint, profile and credentials, in the order
// the AWS CLI uses (see include/ecr/config.hpp).
#include "ecr/config.hpp"

#include <fcntl.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>

#include "aws/credentials.hpp"
#include "aws/partition.hpp"
#include "aws/shared_config.hpp"
#include "aws/url.hpp"
#include "core/file.hpp"
#include "ecr/error.hpp"

namespace ecr {
namespace {

// Region names go into the endpoint host and the credential scope, so only
// what AWS region names are made of is accepted.
std::string checked_region(const std::string& region, const std::string& source) {
  const bool ok = std::all_of(region.begin(), region.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
  });
  if (!ok) {
    throw InputError("region '" + region + "' from " + source + " is not a valid region name");
  }
  return region;
}

std::string resolve_region(const ClientConfig& config, const Environment& env,
                           const aws::SharedConfig& shared, const std::string& profile) {
  if (config.region && !config.region->empty()) {
    return checked_region(*config.region, "the region option");
  }
  if (auto region = aws::env_value(env, "AWS_REGION")) return checked_region(*region, "AWS_REGION");
  if (auto region = aws::env_value(env, "AWS_DEFAULT_REGION")) {
    return checked_region(*region, "AWS_DEFAULT_REGION");
  }
  if (auto region = shared.value(profile, "region")) {
    return checked_region(*region, "profile '" + profile + "'");
  }
  throw InputError(
      "no AWS region found; searched: the region option, environment variables AWS_REGION and "
      "AWS_DEFAULT_REGION, `region` of profile '" +
      profile + "' in " + shared.files_searched());
}

// Accepts only scheme://host[:port] (a trailing '/' is dropped): ECR answers
// at the root, so a path would silently change what gets signed.
std::string validate_endpoint(const std::string& endpoint, const char* source) {
  std::string text = endpoint;
  while (!text.empty() && text.back() == '/') text.pop_back();
  aws::UrlParts parts;
  try {
    parts = aws::split_url(text);
  } catch (const InputError& e) {
    throw InputError(std::string("endpoint from ") + source + " is not usable: " + e.what());
  }
  if (!parts.path.empty() || !parts.query.empty() || text.back() == '?') {
    throw InputError(std::string("endpoint from ") + source + " '" + endpoint +
                     "' must be http(s)://host[:port] without a path or query");
  }
  return parts.origin();
}

std::string regional_endpoint(const std::string& region) {
  return validate_endpoint(
      "https://api.ecr." + region + "." + std::string(aws::partition_of(region).dns_suffix),
      "the region");
}

// The file must be readable now: a bundle that is not would otherwise fail
// every request with a TLS error that does not say where the name came from.
std::string checked_ca_bundle(const std::string& path, const std::string& source) {
  const UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) {
    throw InputError("CA bundle " + path + " from " + source +
                     " cannot be read: " + std::strerror(errno));
  }
  return path;
}

std::string resolve_ca_bundle(const ClientConfig& config, const Environment& env,
                              const aws::SharedConfig& shared, const std::string& profile) {
  if (config.ca_bundle && !config.ca_bundle->empty()) {
    return checked_ca_bundle(*config.ca_bundle, "the CA bundle option");
  }
  if (auto path = aws::env_value(env, "AWS_CA_BUNDLE")) {
    return checked_ca_bundle(*path, "AWS_CA_BUNDLE");
  }
  if (auto path = shared.value(profile, "ca_bundle")) {
    return checked_ca_bundle(*path, "`ca_bundle` of profile '" + profile + "'");
  }
  return {};
}

// The AWS SDKs' limit on max_attempts; anything above it is a typo.
constexpr int kMostAttempts = 100;

int checked_attempts(const std::string& text, const std::string& source) {
  int attempts = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), attempts);
  if (error != std::errc() || end != text.data() + text.size() || attempts < 1 ||
      attempts > kMostAttempts) {
    throw InputError("max_attempts '" + text + "' from " + source +
                     " must be a whole number from 1 to " + std::to_string(kMostAttempts));
  }
  return attempts;
}

int resolve_max_attempts(const ClientConfig& config, const Environment& env,
                         const aws::SharedConfig& shared, const std::string& profile) {
  if (config.max_attempts) {
    return checked_attempts(std::to_string(*config.max_attempts), "the max attempts option");
  }
  if (auto text = aws::env_value(env, "AWS_MAX_ATTEMPTS")) {
    return checked_attempts(*text, "AWS_MAX_ATTEMPTS");
  }
  if (auto text = shared.value(profile, "max_attempts")) {
    return checked_attempts(*text, "`max_attempts` of profile '" + profile + "'");
  }
  return kDefaultMaxAttempts;
}

// Longer than any registry takes to answer; a typo past it would turn a stall
// back into a hang.
constexpr std::chrono::seconds kLongestStallTimeout{3600};

std::chrono::seconds checked_stall_timeout(const std::string& text, const std::string& source) {
  long long seconds = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), seconds);
  if (error != std::errc() || end != text.data() + text.size() || seconds < 1 ||
      seconds > kLongestStallTimeout.count()) {
    throw InputError("stall timeout '" + text + "' from " + source +
                     " must be a whole number of seconds from 1 to " +
                     std::to_string(kLongestStallTimeout.count()));
  }
  return std::chrono::seconds(seconds);
}

std::chrono::seconds resolve_stall_timeout(const ClientConfig& config, const Environment& env) {
  if (config.stall_timeout) {
    return checked_stall_timeout(std::to_string(config.stall_timeout->count()),
                                 "the stall timeout option");
  }
  if (auto text = aws::env_value(env, "ECR_STALL_TIMEOUT")) {
    return checked_stall_timeout(*text, "ECR_STALL_TIMEOUT");
  }
  return kDefaultStallTimeout;
}

}  // namespace

std::optional<std::string> configured_endpoint(const ClientConfig& config, const Environment& env) {
  if (config.endpoint_url && !config.endpoint_url->empty()) {
    return validate_endpoint(*config.endpoint_url, "the endpoint option");
  }
  if (auto url = aws::env_value(env, "AWS_ENDPOINT_URL_ECR")) {
    return validate_endpoint(*url, "AWS_ENDPOINT_URL_ECR");
  }
  if (auto url = aws::env_value(env, "AWS_ENDPOINT_URL")) {
    return validate_endpoint(*url, "AWS_ENDPOINT_URL");
  }
  return std::nullopt;
}

Environment process_environment() {
  return [](const std::string& name) -> std::optional<std::string> {
    // getenv is safe here: nothing in the library calls setenv.
    const char* value = std::getenv(name.c_str());
    if (value == nullptr) return std::nullopt;
    return std::string(value);
  };
}

ResolvedConfig resolve_config(const ClientConfig& config, const Environment& env) {
  ResolvedConfig resolved;
  const bool named = (config.profile && !config.profile->empty()) ||
                     aws::env_value(env, "AWS_PROFILE").has_value();
  if (config.profile && !config.profile->empty()) {
    resolved.profile = *config.profile;
  } else {
    resolved.profile = aws::env_value(env, "AWS_PROFILE").value_or("default");
  }

  const aws::SharedConfig shared = aws::load_shared_config(env);
  // Like the AWS CLI: naming a profile that does not exist is a mistake, even
  // when other sources could supply everything. "default" may be absent.
  if (named && resolved.profile != "default" && !shared.has_profile(resolved.profile)) {
    throw InputError("profile '" + resolved.profile + "' not found in " + shared.files_searched());
  }

  resolved.region = resolve_region(config, env, shared, resolved.profile);
  resolved.endpoint_url =
      configured_endpoint(config, env).value_or(regional_endpoint(resolved.region));
  resolved.ca_bundle = resolve_ca_bundle(config, env, shared, resolved.profile);
  resolved.max_attempts = resolve_max_attempts(config, env, shared, resolved.profile);
  resolved.stall_timeout = resolve_stall_timeout(config, env);
  resolved.credentials =
      aws::resolve_credentials(config.credentials, resolved.profile, shared, env);
  return resolved;
}

}  // namespace ecr
