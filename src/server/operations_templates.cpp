// Handlers: repository creation templates (Create, Describe, Update, Delete).
// The model checks prefixes, enums and lengths; this file checks what it
// cannot (policy documents, tags, the role's account) before the Registry
// stores anything.
#include <algorithm>
#include <set>

#include "core/json_reader.hpp"
#include "server/lifecycle_policy.hpp"
#include "server/operations_internal.hpp"

namespace ecr::server::ops {
namespace {

// ECR's limits on the tags of a resource: at most 50, keys of 1-128
// characters, values of at most 256 (the resourceTags documentation).
constexpr std::size_t kMaxTemplateTags = 50;
constexpr std::size_t kMaxTagKey = 128;
constexpr std::size_t kMaxTagValue = 256;

[[noreturn]] void invalid(const std::string& member, const std::string& why) {
  throw api::InvalidParameterException("Invalid parameter at '" + member +
                                       "' failed to satisfy constraint: '" + why + "'");
}

// "" clears a text setting (the model allows empty policies and descriptions).
std::optional<std::string> text_or_none(const std::string& text) {
  if (text.empty()) return std::nullopt;
  return text;
}

std::vector<std::string> checked_applied_for(const std::vector<std::string>& values) {
  if (values.empty()) {
    invalid("appliedFor",
            "at least one of CREATE_ON_PUSH, PULL_THROUGH_CACHE, REPLICATION is required");
  }
  std::vector<std::string> out;
  for (const auto& v : values) {
    if (std::find(out.begin(), out.end(), v) == out.end()) out.push_back(v);
  }
  return out;
}

std::optional<std::string> checked_lifecycle_policy(const std::string& text) {
  if (text.empty()) return std::nullopt;
  try {
    parse_lifecycle_policy(text);
  } catch (const InputError& e) {
    invalid("LifecyclePolicyText", std::string("Lifecycle policy validation failure: ") + e.what());
  }
  return text;
}

std::optional<std::string> checked_repository_policy(const std::string& text) {
  if (text.empty()) return std::nullopt;
  simdjson::dom::parser parser;
  try {
    if (!json::parse(parser, text, "repositoryPolicy").is_object())
      throw InputError("not an object");
  } catch (const InputError&) {
    invalid("PolicyText", "Invalid repository policy provided");
  }
  return text;
}

std::vector<std::pair<std::string, std::string>> checked_template_tags(const std::vector<api::Tag>& tags) {
  if (tags.size() > kMaxTemplateTags) {
    invalid("resourceTags", "a template can carry at most 50 resource tags");
  }
  std::set<std::string, std::less<>> keys;
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& tag : tags) {
    if (tag.Key.empty() || tag.Key.size() > kMaxTagKey) {
      invalid("resourceTags", "tag keys are 1 to 128 characters long");
    }
    if (tag.Value.size() > kMaxTagValue) {
      invalid("resourceTags", "tag values are at most 256 characters long");
    }
    if (tag.Key.starts_with("aws:")) {
      invalid("resourceTags", "the tag key '" + tag.Key + "' uses the reserved prefix 'aws:'");
    }
    if (!keys.insert(tag.Key).second) {
      invalid("resourceTags", "the tag key '" + tag.Key + "' is given more than once");
    }
    out.emplace_back(tag.Key, tag.Value);
  }
  return out;
}

api::EncryptionConfigurationForRepositoryCreationTemplate checked_encryption(
    const api::EncryptionConfigurationForRepositoryCreationTemplate& config) {
  if (config.encryptionType == "AES256" && config.kmsKey && !config.kmsKey->empty()) {
    invalid("encryptionConfiguration.kmsKey", "a KMS key needs encryptionType KMS or KMS_DSSE");
  }
  return config;
}

// ECR assumes the role in the registry's own account: an IAM role ARN of
// that account, "arn:<partition>:iam::<account>:role/<name>".
std::optional<std::string> checked_role(const Env& env, const std::string& arn) {
  if (arn.empty()) return std::nullopt;
  const std::string tail = ":iam::" + env.account() + ":role/";
  const auto at = arn.find(":iam::");
  const bool partition_ok = arn.starts_with("arn:aws") && at != std::string::npos &&
                            arn.find_first_not_of("abcdefghijklmnopqrstuvwxyz-", 7) == at;
  if (!partition_ok || arn.compare(at, tail.size(), tail) != 0 || arn.size() == at + tail.size()) {
    invalid("customRoleArn",
            "the role must be an IAM role ARN of the registry's account (arn:aws:iam::" +
                env.account() + ":role/NAME)");
  }
  return arn;
}

// The members Create and Update share, applied to `t`: a member present in
// the request replaces the setting, an absent one leaves it as it is.
template <class Req>
void apply_settings(const Env& env, const Req& r, CreationTemplate& t) {
  if (r.description) t.description = text_or_none(*r.description);
  // Filters given replace the stored ones; a *_WITH_EXCLUSION mutability
  // given alone keeps them, a plain one drops them. The resulting pair must
  // be one ECR accepts.
  if (r.imageTagMutability || r.imageTagMutabilityExclusionFilters) {
    const std::string mutability = r.imageTagMutability.value_or(t.tag_mutability);
    std::optional<ExclusionFilters> filters = r.imageTagMutabilityExclusionFilters;
    if (!filters && mutability.ends_with("_WITH_EXCLUSION")) {
      filters = exclusion_filters(t.tag_mutability_exclusions);
    }
    t.tag_mutability_exclusions = checked_exclusions(mutability, filters);
    t.tag_mutability = mutability;
  }
  if (r.encryptionConfiguration) {
    const auto config = checked_encryption(*r.encryptionConfiguration);
    t.encryption_type = config.encryptionType;
    t.kms_key = config.kmsKey ? text_or_none(*config.kmsKey) : std::nullopt;
  }
  if (r.lifecyclePolicy) t.lifecycle_policy = checked_lifecycle_policy(*r.lifecyclePolicy);
  if (r.repositoryPolicy) t.repository_policy = checked_repository_policy(*r.repositoryPolicy);
  if (r.resourceTags) t.resource_tags = checked_template_tags(*r.resourceTags);
  if (r.customRoleArn) t.custom_role_arn = checked_role(env, *r.customRoleArn);
}

api::RepositoryCreationTemplate to_api(const CreationTemplate& t) {
  api::RepositoryCreationTemplate out;
  out.prefix = t.prefix;
  out.appliedFor = t.applied_for;
  out.description = t.description;
  out.imageTagMutability = t.tag_mutability;
  out.imageTagMutabilityExclusionFilters = exclusion_filters(t.tag_mutability_exclusions);
  out.encryptionConfiguration =
      api::EncryptionConfigurationForRepositoryCreationTemplate{t.encryption_type, t.kms_key};
  out.lifecyclePolicy = t.lifecycle_policy;
  out.repositoryPolicy = t.repository_policy;
  out.resourceTags.emplace();
  for (const auto& [key, value] : t.resource_tags) out.resourceTags->push_back({key, value});
  out.customRoleArn = t.custom_role_arn;
  out.createdAt = t.created_at;
  out.updatedAt = t.updated_at;
  return out;
}

}  // namespace

std::string create_repository_creation_template(Env& env, simdjson::dom::element body) {
  using Req = api::CreateRepositoryCreationTemplateRequest;
  return run<Req>(body, [&](const Req& r) {
    CreationTemplate t;
    t.prefix = r.prefix;
    t.applied_for = checked_applied_for(r.appliedFor);
    apply_settings(env, r, t);
    api::CreateRepositoryCreationTemplateResponse out;
    out.registryId = env.account();
    out.repositoryCreationTemplate = to_api(env.registry.create_creation_template(t));
    return out;
  });
}

std::string describe_repository_creation_templates(Env& env, simdjson::dom::element body) {
  using Req = api::DescribeRepositoryCreationTemplatesRequest;
  return run<Req>(body, [&](const Req& r) {
    std::optional<std::string> next;
    api::DescribeRepositoryCreationTemplatesResponse out;
    out.registryId = env.account();
    out.repositoryCreationTemplates.emplace();
    for (const auto& t : env.registry.describe_creation_templates(
             r.prefixes.value_or(std::vector<std::string>{}), {r.maxResults, r.nextToken}, next)) {
      out.repositoryCreationTemplates->push_back(to_api(t));
    }
    out.nextToken = next;
    return out;
  });
}

std::string update_repository_creation_template(Env& env, simdjson::dom::element body) {
  using Req = api::UpdateRepositoryCreationTemplateRequest;
  return run<Req>(body, [&](const Req& r) {
    // Checked before the template is looked up, so a bad request changes nothing.
    std::optional<std::vector<std::string>> applied;
    if (r.appliedFor) applied = checked_applied_for(*r.appliedFor);
    CreationTemplate checked;
    // Stands for filters the stored template may hold, so a *_WITH_EXCLUSION
    // mutability given alone passes here; the update checks the real ones.
    checked.tag_mutability_exclusions = {"*"};
    apply_settings(env, r, checked);
    api::UpdateRepositoryCreationTemplateResponse out;
    out.registryId = env.account();
    out.repositoryCreationTemplate =
        to_api(env.registry.update_creation_template(r.prefix, [&](CreationTemplate& t) {
          if (applied) t.applied_for = *applied;
          apply_settings(env, r, t);
        }));
    return out;
  });
}

std::string delete_repository_creation_template(Env& env, simdjson::dom::element body) {
  using Req = api::DeleteRepositoryCreationTemplateRequest;
  return run<Req>(body, [&](const Req& r) {
    api::DeleteRepositoryCreationTemplateResponse out;
    out.registryId = env.account();
    out.repositoryCreationTemplate = to_api(env.registry.delete_creation_template(r.prefix));
    return out;
  });
}

}  // namespace ecr::server::ops
