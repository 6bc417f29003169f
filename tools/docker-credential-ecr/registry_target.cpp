#include "registry_target.hpp"

#include "aws/partition.hpp"
#include "aws/url.hpp"
#include "ecr/error.hpp"
#include "ecr/reference.hpp"

namespace ecr::credential_helper {
namespace {

// Docker names a registry by its host and talks https to it unless told
// otherwise, so a URL without a scheme is taken as https.
std::optional<aws::UrlParts> parse_server_url(std::string_view server_url) {
  std::string url(server_url);
  if (url.find("://") == std::string::npos) url = "https://" + url;
  try {
    return aws::split_url(url);
  } catch (const InputError&) {
    return std::nullopt;
  }
}

}  // namespace

std::optional<std::string> server_of(std::string_view server_url) {
  const auto parts = parse_server_url(server_url);
  if (!parts) return std::nullopt;
  return parts->host_header();
}

std::optional<RegistryTarget> find_registry(std::string_view server_url, const Environment& env) {
  const auto parts = parse_server_url(server_url);
  if (!parts) return std::nullopt;
  const std::optional<std::string> endpoint = configured_endpoint({}, env);
  RegistryTarget target;
  target.server = parts->host_header();
  if (const auto ecr_host = parse_ecr_registry_host(parts->host)) {
    target.registry_id = ecr_host->registry_id;
    target.config.region = ecr_host->region;
    // A FIPS registry host is used where only FIPS endpoints may be, so its
    // token comes from the region's FIPS API endpoint as well (ecr-fips.
    // <region>, as the AWS SDKs name it), unless an endpoint is configured.
    if (ecr_host->fips && !endpoint) {
      target.config.endpoint_url = "https://ecr-fips." + ecr_host->region + "." +
                                   std::string(aws::partition_of(ecr_host->region).dns_suffix);
    }
    return target;
  }
  if (endpoint && aws::split_url(*endpoint).host_header() == target.server) return target;
  return std::nullopt;
}

}  // namespace ecr::credential_helper
