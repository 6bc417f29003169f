// Handlers: repositories, their settings and resource tags, the registry, and
// authorization tokens.
#include <algorithm>
#include <array>
#include <map>
#include <span>

#include "aws/crypto.hpp"
#include "core/base64.hpp"
#include "server/operations_internal.hpp"

namespace ecr::server::ops {
namespace {

// ECR's limit on tags per resource (TooManyTagsException beyond it).
constexpr std::size_t kMaxResourceTags = 50;
// GetAuthorizationToken tokens are valid for 12 hours in ECR.
constexpr std::chrono::hours kAuthorizationTokenLifetime{12};

std::map<std::string, std::string> checked_tags(
    const std::vector<api::Tag>& tags, const std::map<std::string, std::string>& existing = {}) {
  std::map<std::string, std::string> out;
  for (const auto& tag : tags) {
    if (tag.Key.starts_with("aws:")) {
      throw api::InvalidTagParameterException("The tag key '" + tag.Key +
                                              "' uses the reserved prefix 'aws:'");
    }
    out[tag.Key] = tag.Value;
  }
  std::map<std::string, std::string> merged = existing;
  for (const auto& [k, v] : out) merged[k] = v;
  if (merged.size() > kMaxResourceTags) {
    throw api::TooManyTagsException("A resource can have at most 50 tags");
  }
  return out;
}

// "arn:aws:ecr:<region>:<account>:repository/<name>" -> name.
std::string repository_from_arn(Env& env, const std::string& arn) {
  std::string prefix = repository_arn(env, "");
  if (!arn.starts_with(prefix) || arn.size() == prefix.size()) {
    throw api::InvalidParameterException(
        "Invalid parameter at 'resourceArn' failed to satisfy constraint: "
        "'Invalid repository ARN: " +
        arn + "'");
  }
  return arn.substr(prefix.size());
}

}  // namespace

std::string create_repository(Env& env, simdjson::dom::element body) {
  return run<api::CreateRepositoryRequest>(body, [&](const api::CreateRepositoryRequest& r) {
    check_registry(env, r.registryId);
    RepositoryInfo wanted;
    wanted.name = r.repositoryName;
    wanted.tag_mutability = r.imageTagMutability.value_or("MUTABLE");
    wanted.tag_mutability_exclusions =
        checked_exclusions(wanted.tag_mutability, r.imageTagMutabilityExclusionFilters);
    if (r.imageScanningConfiguration) {
      wanted.scan_on_push = r.imageScanningConfiguration->scanOnPush.value_or(false);
    }
    if (r.encryptionConfiguration) {
      wanted.encryption_type = r.encryptionConfiguration->encryptionType;
      wanted.kms_key = r.encryptionConfiguration->kmsKey;
    }
    auto tags = checked_tags(r.tags.value_or(std::vector<api::Tag>{}));
    return api::CreateRepositoryResponse{to_api(env, env.registry.create_repository(wanted, tags))};
  });
}

std::string describe_repositories(Env& env, simdjson::dom::element body) {
  return run<api::DescribeRepositoriesRequest>(
      body, [&](const api::DescribeRepositoriesRequest& r) {
        check_registry(env, r.registryId);
        std::vector<std::string> names = r.repositoryNames.value_or(std::vector<std::string>{});
        if (!names.empty() && (r.maxResults || r.nextToken)) {
          throw api::InvalidParameterException(
              "Invalid parameter: maxResults and nextToken cannot be used with repositoryNames");
        }
        std::optional<std::string> next;
        api::DescribeRepositoriesResponse out;
        out.repositories.emplace();
        for (const auto& info :
             env.registry.describe_repositories(names, {r.maxResults, r.nextToken}, next)) {
          out.repositories->push_back(to_api(env, info));
        }
        out.nextToken = next;
        return out;
      });
}

std::string delete_repository(Env& env, simdjson::dom::element body) {
  return run<api::DeleteRepositoryRequest>(body, [&](const api::DeleteRepositoryRequest& r) {
    check_registry(env, r.registryId);
    return api::DeleteRepositoryResponse{
        to_api(env, env.registry.delete_repository(r.repositoryName, r.force.value_or(false)))};
  });
}

std::string put_image_tag_mutability(Env& env, simdjson::dom::element body) {
  return run<api::PutImageTagMutabilityRequest>(
      body, [&](const api::PutImageTagMutabilityRequest& r) {
        check_registry(env, r.registryId);
        const auto exclusions =
            checked_exclusions(r.imageTagMutability, r.imageTagMutabilityExclusionFilters);
        env.registry.set_tag_mutability(r.repositoryName, r.imageTagMutability, exclusions);
        api::PutImageTagMutabilityResponse out;
        out.registryId = env.account();
        out.repositoryName = r.repositoryName;
        out.imageTagMutability = r.imageTagMutability;
        out.imageTagMutabilityExclusionFilters = exclusion_filters(exclusions);
        return out;
      });
}

std::string put_image_scanning_configuration(Env& env, simdjson::dom::element body) {
  using Req = api::PutImageScanningConfigurationRequest;
  return run<Req>(body, [&](const Req& r) {
    check_registry(env, r.registryId);
    bool scan = r.imageScanningConfiguration.scanOnPush.value_or(false);
    env.registry.set_scan_on_push(r.repositoryName, scan);
    api::PutImageScanningConfigurationResponse out;
    out.registryId = env.account();
    out.repositoryName = r.repositoryName;
    out.imageScanningConfiguration = api::ImageScanningConfiguration{scan};
    return out;
  });
}

std::string tag_resource(Env& env, simdjson::dom::element body) {
  return run<api::TagResourceRequest>(body, [&](const api::TagResourceRequest& r) {
    std::string name = repository_from_arn(env, r.resourceArn);
    env.registry.tag_repository(name, checked_tags(r.tags, env.registry.repository_tags(name)));
    return api::TagResourceResponse{};
  });
}

std::string untag_resource(Env& env, simdjson::dom::element body) {
  return run<api::UntagResourceRequest>(body, [&](const api::UntagResourceRequest& r) {
    std::string name = repository_from_arn(env, r.resourceArn);
    for (const auto& key : r.tagKeys) {
      if (key.starts_with("aws:")) {
        throw api::InvalidTagParameterException("The tag key '" + key +
                                                "' uses the reserved prefix 'aws:'");
      }
    }
    env.registry.untag_repository(name, r.tagKeys);
    return api::UntagResourceResponse{};
  });
}

std::string list_tags_for_resource(Env& env, simdjson::dom::element body) {
  return run<api::ListTagsForResourceRequest>(body, [&](const api::ListTagsForResourceRequest& r) {
    api::ListTagsForResourceResponse out;
    out.tags.emplace();
    for (const auto& [k, v] :
         env.registry.repository_tags(repository_from_arn(env, r.resourceArn))) {
      out.tags->push_back(api::Tag{k, v});
    }
    return out;
  });
}

std::string describe_registry(Env& env, simdjson::dom::element body) {
  return run<api::DescribeRegistryRequest>(body, [&](const api::DescribeRegistryRequest&) {
    api::DescribeRegistryResponse out;
    out.registryId = env.account();
    out.replicationConfiguration = api::ReplicationConfiguration{};
    return out;
  });
}

std::string get_authorization_token(Env& env, simdjson::dom::element body) {
  return run<api::GetAuthorizationTokenRequest>(
      body, [&](const api::GetAuthorizationTokenRequest&) {
        const auto expires = std::chrono::time_point_cast<std::chrono::seconds>(
            env.registry.now() + kAuthorizationTokenLifetime);
        api::AuthorizationData data;
        data.authorizationToken = base64::encode(
            "AWS:" + env.tokens.issue(env.request.access_key, env.request.secret_key, expires));
        data.expiresAt = expires;
        data.proxyEndpoint = env.request.base_url;
        api::GetAuthorizationTokenResponse out;
        out.authorizationData = std::vector<api::AuthorizationData>{data};
        return out;
      });
}

namespace {

// Account settings, by the names ECR's API reference gives
// (PutAccountSetting), each with the values it allows there; the first value
// is the default a registry has until one is put. BASIC_SCAN_TYPE_VERSION's
// CLAIR is gone from ECR (basic scanning is AWS_NATIVE only); new registries
// get the V2 registry policy scope; blob mounting is off until enabled.
struct AccountSetting {
  std::string_view name;
  std::array<std::string_view, 2> values;
  std::size_t count;  // how many of `values` are used
};
constexpr std::array<AccountSetting, 3> kAccountSettings = {{
    {"BASIC_SCAN_TYPE_VERSION", {"AWS_NATIVE", ""}, 1},
    {"BLOB_MOUNTING", {"DISABLED", "ENABLED"}, 2},
    {"REGISTRY_POLICY_SCOPE", {"V2", "V1"}, 2},
}};

const AccountSetting& account_setting(const std::string& name) {
  for (const auto& setting : kAccountSettings) {
    if (setting.name == name) return setting;
  }
  throw api::InvalidParameterException(
      "Invalid parameter at 'name' failed to satisfy constraint: "
      "'Account setting name " +
      name + " is not supported'");
}

}  // namespace

std::string put_account_setting(Env& env, simdjson::dom::element body) {
  return run<api::PutAccountSettingRequest>(body, [&](const api::PutAccountSettingRequest& r) {
    const AccountSetting& setting = account_setting(r.name);
    const auto values = std::span(setting.values).first(setting.count);
    if (std::find(values.begin(), values.end(), r.value) == values.end()) {
      std::string allowed;
      for (auto v : values) allowed += (allowed.empty() ? "" : ", ") + std::string(v);
      throw api::InvalidParameterException(
          "Invalid parameter at 'value' failed to satisfy "
          "constraint: 'Value of " +
          r.name + " must be one of " + allowed + "'");
    }
    env.registry.set_account_setting(r.name, r.value);
    api::PutAccountSettingResponse out;
    out.name = r.name;
    out.value = r.value;
    return out;
  });
}

std::string get_account_setting(Env& env, simdjson::dom::element body) {
  return run<api::GetAccountSettingRequest>(body, [&](const api::GetAccountSettingRequest& r) {
    const AccountSetting& setting = account_setting(r.name);
    api::GetAccountSettingResponse out;
    out.name = r.name;
    out.value = env.registry.account_setting(r.name).value_or(std::string(setting.values.front()));
    return out;
  });
}

}  // namespace ecr::server::ops
