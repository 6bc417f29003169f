// Which registry a server URL from docker names, and where its token comes
// from: an ECR registry host (account and region from the host), or the
// configured endpoint (ecr-local) when the URL's host[:port] is that
// endpoint's.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "ecr/config.hpp"

namespace ecr::credential_helper {

struct RegistryTarget {
  // host[:port], lowercase, as docker keys registries ("123456789012.dkr.ecr.
  // us-east-1.amazonaws.com", "127.0.0.1:5000"); a scheme's default port is
  // left out.
  std::string server;
  // The account of an ECR host, asked for by GetAuthorizationToken's
  // registryIds; none for the configured endpoint.
  std::optional<std::string> registry_id;
  // What resolve_config needs on top of the environment: the host's region,
  // and for a FIPS host the region's FIPS endpoint unless one is configured.
  ClientConfig config;
};

// The host[:port] of `server_url`, given with or without scheme, path or
// trailing slash ("123456789012.dkr.ecr.us-east-1.amazonaws.com",
// "https://127.0.0.1:5000/v2/"); nullopt when it is no http(s) URL.
std::optional<std::string> server_of(std::string_view server_url);

// The registry `server_url` names; nullopt when it is neither an ECR
// registry host nor the configured endpoint. Throws InputError when the
// configured endpoint is malformed (configured_endpoint()).
std::optional<RegistryTarget> find_registry(std::string_view server_url, const Environment& env);

}  // namespace ecr::credential_helper
