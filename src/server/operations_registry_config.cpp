// Handlers: registry-wide configuration that ecr-local stores and echoes
// (signing, registry policy, registry scanning, pull-time update
// exclusions) and the scan and signing status of an image. ecr-local has no
// scanner and no signer: docs/ecr-local.md says what these answer instead.
#include <algorithm>

#include "core/json_reader.hpp"
#include "server/operations_internal.hpp"
#include "server/wildcard.hpp"

namespace ecr::server::ops {
namespace {

// The names the registry-wide documents are stored under.
constexpr std::string_view kSigningDocument = "signing-configuration";
constexpr std::string_view kPolicyDocument = "registry-policy";
constexpr std::string_view kScanningDocument = "scanning-configuration";

// ECR allows 100 pull-time update exclusions per registry (user guide,
// "Pull-time update exclusions").
constexpr std::size_t kMaxPullTimeExclusions = 100;
// ListPullTimeUpdateExclusions' page size when maxResults is not given
// (user guide, "Considerations for pull-time update exclusions").
constexpr std::int64_t kDefaultExclusionPage = 100;

// What StartImageScan records and DescribeImageScanFindings reports: the
// model's ScanStatus for an image the registry cannot scan, and why.
constexpr std::string_view kScanStatus = "UNSUPPORTED_IMAGE";
constexpr std::string_view kScanDescription =
    "ecr-local does not scan images: no vulnerability findings are produced";

// DescribeImageSigningStatus' answer for each signing profile whose rule
// applies to the repository: ecr-local signs nothing.
constexpr std::string_view kSigningFailureCode = "SIGNING_NOT_SUPPORTED";
constexpr std::string_view kSigningFailureReason =
    "ecr-local does not sign images: the signing configuration is stored, not applied";

void check_image_id(const api::ImageIdentifier& id) {
  if (!id.imageDigest && !id.imageTag) {
    throw api::InvalidParameterException(
        "Invalid parameter at 'imageId' failed to satisfy constraint: 'imageId must have an "
        "imageDigest or an imageTag'");
  }
}

std::optional<api::SigningConfiguration> stored_signing(Env& env) {
  auto text = env.registry.registry_document(kSigningDocument);
  if (!text) return std::nullopt;
  return api::from_json<api::SigningConfiguration>(std::string_view(*text));
}

[[noreturn]] void signing_not_found(Env& env) {
  throw api::SigningConfigurationNotFoundException(
      "No signing configuration exists in the registry with id '" + env.account() + "'");
}

// The registry's scanning configuration, ECR's default (BASIC, no rules)
// when none was put.
api::RegistryScanningConfiguration stored_scanning(Env& env) {
  auto text = env.registry.registry_document(kScanningDocument);
  if (!text) {
    return api::RegistryScanningConfiguration{std::vector<api::RegistryScanningRule>{}, "BASIC"};
  }
  return api::from_json<api::RegistryScanningConfiguration>(std::string_view(*text));
}

// ECR's scan frequencies per scan type (API reference, RegistryScanningRule):
// BASIC scans on push or manually, ENHANCED on push or continuously.
void check_scanning_rules(const std::string& scan_type,
                          const std::vector<api::RegistryScanningRule>& rules) {
  for (std::size_t i = 0; i < rules.size(); ++i) {
    const std::string& frequency = rules[i].scanFrequency;
    const bool allowed =
        scan_type == "BASIC" ? frequency != "CONTINUOUS_SCAN" : frequency != "MANUAL";
    if (!allowed) {
      throw api::InvalidParameterException(
          "Invalid parameter at 'rules[" + std::to_string(i) +
          "].scanFrequency' failed to satisfy constraint: 'scanFrequency " + frequency +
          " is not supported with scanType " + scan_type + "'");
    }
  }
}

// The precedence ECR gives a repository that matches several rules: the
// more frequent scanning wins.
int frequency_rank(const std::string& frequency) {
  if (frequency == "CONTINUOUS_SCAN") return 2;
  if (frequency == "SCAN_ON_PUSH") return 1;
  return 0;
}

}  // namespace

// --- signing ---------------------------------------------------------------

std::string put_signing_configuration(Env& env, simdjson::dom::element body) {
  using Req = api::PutSigningConfigurationRequest;
  return run<Req>(body, [&](const Req& r) {
    env.registry.put_registry_document(kSigningDocument, api::to_json(r.signingConfiguration));
    api::PutSigningConfigurationResponse out;
    out.signingConfiguration = r.signingConfiguration;
    return out;
  });
}

std::string get_signing_configuration(Env& env, simdjson::dom::element body) {
  using Req = api::GetSigningConfigurationRequest;
  return run<Req>(body, [&](const Req&) {
    auto stored = stored_signing(env);
    if (!stored) signing_not_found(env);
    return api::GetSigningConfigurationResponse{env.account(), std::move(stored)};
  });
}

std::string delete_signing_configuration(Env& env, simdjson::dom::element body) {
  using Req = api::DeleteSigningConfigurationRequest;
  return run<Req>(body, [&](const Req&) {
    auto text = env.registry.delete_registry_document(kSigningDocument);
    if (!text) signing_not_found(env);
    return api::DeleteSigningConfigurationResponse{
        env.account(), api::from_json<api::SigningConfiguration>(std::string_view(*text))};
  });
}

std::string describe_image_signing_status(Env& env, simdjson::dom::element body) {
  using Req = api::DescribeImageSigningStatusRequest;
  return run<Req>(body, [&](const Req& r) {
    check_registry(env, r.registryId);
    check_image_id(r.imageId);
    std::optional<std::string> next;
    const ImageInfo image =
        env.registry
            .describe_images(r.repositoryName, {from_api(r.imageId)}, std::nullopt, {}, next)
            .front();
    api::DescribeImageSigningStatusResponse out;
    out.imageId = api::ImageIdentifier{image.digest, r.imageId.imageTag};
    out.registryId = env.account();
    out.repositoryName = r.repositoryName;
    out.signingStatuses.emplace();
    const auto config = stored_signing(env);
    for (const api::SigningRule& rule : config ? config->rules : std::vector<api::SigningRule>{}) {
      // A rule without filters applies to every repository.
      const bool applies =
          !rule.repositoryFilters ||
          std::any_of(rule.repositoryFilters->begin(), rule.repositoryFilters->end(),
                      [&](const api::SigningRepositoryFilter& f) {
                        return wildcard_match(f.filter, r.repositoryName);
                      });
      const bool listed = std::any_of(out.signingStatuses->begin(), out.signingStatuses->end(),
                                      [&](const api::ImageSigningStatus& s) {
                                        return s.signingProfileArn == rule.signingProfileArn;
                                      });
      if (!applies || listed) continue;
      out.signingStatuses->push_back(api::ImageSigningStatus{std::string(kSigningFailureCode),
                                                             std::string(kSigningFailureReason),
                                                             rule.signingProfileArn, "FAILED"});
    }
    return out;
  });
}

// --- pull-time update exclusions --------------------------------------------

std::string register_pull_time_update_exclusion(Env& env, simdjson::dom::element body) {
  using Req = api::RegisterPullTimeUpdateExclusionRequest;
  return run<Req>(body, [&](const Req& r) {
    const Timestamp created =
        env.registry.add_pull_time_exclusion(r.principalArn, kMaxPullTimeExclusions);
    return api::RegisterPullTimeUpdateExclusionResponse{created, r.principalArn};
  });
}

std::string deregister_pull_time_update_exclusion(Env& env, simdjson::dom::element body) {
  using Req = api::DeregisterPullTimeUpdateExclusionRequest;
  return run<Req>(body, [&](const Req& r) {
    env.registry.remove_pull_time_exclusion(r.principalArn);
    return api::DeregisterPullTimeUpdateExclusionResponse{r.principalArn};
  });
}

std::string list_pull_time_update_exclusions(Env& env, simdjson::dom::element body) {
  using Req = api::ListPullTimeUpdateExclusionsRequest;
  return run<Req>(body, [&](const Req& r) {
    api::ListPullTimeUpdateExclusionsResponse out;
    out.pullTimeUpdateExclusions = env.registry.pull_time_exclusions(
        {r.maxResults.value_or(kDefaultExclusionPage), r.nextToken}, out.nextToken);
    return out;
  });
}

// --- registry policy ---------------------------------------------------------

std::string put_registry_policy(Env& env, simdjson::dom::element body) {
  using Req = api::PutRegistryPolicyRequest;
  return run<Req>(body, [&](const Req& r) {
    simdjson::dom::parser parser;
    try {
      if (!json::parse(parser, r.policyText, "policyText").is_object()) {
        throw InputError("not an object");
      }
    } catch (const InputError&) {
      throw api::InvalidParameterException(
          "Invalid parameter at 'PolicyText' failed to satisfy constraint: 'Invalid registry "
          "policy provided'");
    }
    env.registry.put_registry_document(kPolicyDocument, r.policyText);
    return api::PutRegistryPolicyResponse{r.policyText, env.account()};
  });
}

namespace {

[[noreturn]] void registry_policy_not_found(Env& env) {
  throw api::RegistryPolicyNotFoundException(
      "Registry policy does not exist in the registry "
      "with id '" +
      env.account() + "'");
}

}  // namespace

std::string get_registry_policy(Env& env, simdjson::dom::element body) {
  using Req = api::GetRegistryPolicyRequest;
  return run<Req>(body, [&](const Req&) {
    auto text = env.registry.registry_document(kPolicyDocument);
    if (!text) registry_policy_not_found(env);
    return api::GetRegistryPolicyResponse{std::move(text), env.account()};
  });
}

std::string delete_registry_policy(Env& env, simdjson::dom::element body) {
  using Req = api::DeleteRegistryPolicyRequest;
  return run<Req>(body, [&](const Req&) {
    auto text = env.registry.delete_registry_document(kPolicyDocument);
    if (!text) registry_policy_not_found(env);
    return api::DeleteRegistryPolicyResponse{std::move(text), env.account()};
  });
}

// --- scanning -----------------------------------------------------------------

std::string put_registry_scanning_configuration(Env& env, simdjson::dom::element body) {
  using Req = api::PutRegistryScanningConfigurationRequest;
  return run<Req>(body, [&](const Req& r) {
    api::RegistryScanningConfiguration config;
    config.scanType = r.scanType.value_or("BASIC");
    config.rules = r.rules.value_or(std::vector<api::RegistryScanningRule>{});
    check_scanning_rules(*config.scanType, *config.rules);
    env.registry.put_registry_document(kScanningDocument, api::to_json(config));
    api::PutRegistryScanningConfigurationResponse out;
    out.registryScanningConfiguration = std::move(config);
    return out;
  });
}

std::string get_registry_scanning_configuration(Env& env, simdjson::dom::element body) {
  using Req = api::GetRegistryScanningConfigurationRequest;
  return run<Req>(body, [&](const Req&) {
    return api::GetRegistryScanningConfigurationResponse{env.account(), stored_scanning(env)};
  });
}

std::string batch_get_repository_scanning_configuration(Env& env, simdjson::dom::element body) {
  using Req = api::BatchGetRepositoryScanningConfigurationRequest;
  return run<Req>(body, [&](const Req& r) {
    const api::RegistryScanningConfiguration config = stored_scanning(env);
    api::BatchGetRepositoryScanningConfigurationResponse out;
    out.scanningConfigurations.emplace();
    out.failures.emplace();
    for (const std::string& name : r.repositoryNames) {
      RepositoryInfo info;
      try {
        info = env.registry.repository(name);
      } catch (const api::RepositoryNotFoundException&) {
        out.failures->push_back(api::RepositoryScanningConfigurationFailure{
            "REPOSITORY_NOT_FOUND", "REPOSITORY_NOT_FOUND", name});
        continue;
      }
      api::RepositoryScanningConfiguration item;
      item.repositoryArn = repository_arn(env, name);
      item.repositoryName = name;
      item.scanOnPush = info.scan_on_push;
      // Without a registry rule for it, the repository's own scanOnPush
      // decides, as it does in ECR's basic scanning.
      item.scanFrequency = info.scan_on_push ? "SCAN_ON_PUSH" : "MANUAL";
      item.appliedScanFilters.emplace();
      int best = -1;
      for (const api::RegistryScanningRule& rule : *config.rules) {
        std::vector<api::ScanningRepositoryFilter> matched;
        for (const auto& filter : rule.repositoryFilters) {
          if (wildcard_match(filter.filter, name)) matched.push_back(filter);
        }
        if (matched.empty() || frequency_rank(rule.scanFrequency) <= best) continue;
        best = frequency_rank(rule.scanFrequency);
        item.scanFrequency = rule.scanFrequency;
        item.appliedScanFilters = std::move(matched);
      }
      out.scanningConfigurations->push_back(std::move(item));
    }
    return out;
  });
}

std::string start_image_scan(Env& env, simdjson::dom::element body) {
  using Req = api::StartImageScanRequest;
  return run<Req>(body, [&](const Req& r) {
    check_registry(env, r.registryId);
    check_image_id(r.imageId);
    const std::string digest =
        env.registry.record_image_scan(r.repositoryName, from_api(r.imageId),
                                       std::string(kScanStatus), std::string(kScanDescription));
    api::StartImageScanResponse out;
    out.imageId = api::ImageIdentifier{digest, r.imageId.imageTag};
    out.imageScanStatus =
        api::ImageScanStatus{std::string(kScanDescription), std::string(kScanStatus)};
    out.registryId = env.account();
    out.repositoryName = r.repositoryName;
    return out;
  });
}

std::string describe_image_scan_findings(Env& env, simdjson::dom::element body) {
  using Req = api::DescribeImageScanFindingsRequest;
  return run<Req>(body, [&](const Req& r) {
    check_registry(env, r.registryId);
    check_image_id(r.imageId);
    // A token this server did not issue is refused even though every
    // answer fits one page.
    if (r.nextToken) decode_page_token(*r.nextToken);
    auto [digest, scan] = env.registry.image_scan(r.repositoryName, from_api(r.imageId));
    if (!scan) {
      std::string id = "{imageDigest:'" + digest + "'";
      if (r.imageId.imageTag) id += ", imageTag:'" + *r.imageId.imageTag + "'";
      throw api::ScanNotFoundException("Image scan does not exist for the image with '" + id +
                                       "}' in the repository with name '" + r.repositoryName +
                                       "' in the registry with id '" + env.account() + "'");
    }
    api::DescribeImageScanFindingsResponse out;
    out.imageId = api::ImageIdentifier{digest, r.imageId.imageTag};
    out.imageScanStatus = api::ImageScanStatus{scan->description, scan->status};
    api::ImageScanFindings findings;
    findings.findings.emplace();
    findings.findingSeverityCounts.emplace();
    out.imageScanFindings = std::move(findings);
    out.registryId = env.account();
    out.repositoryName = r.repositoryName;
    return out;
  });
}

}  // namespace ecr::server::ops
