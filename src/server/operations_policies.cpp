// Handlers: repository policies, lifecycle policies and lifecycle previews.
#include "core/json_reader.hpp"
#include "server/operations_internal.hpp"

namespace ecr::server::ops {
namespace {

[[noreturn]] void invalid_lifecycle(const std::exception& e) {
  throw api::InvalidParameterException(
      std::string("Invalid parameter at 'LifecyclePolicyText' failed to satisfy constraint: "
                  "'Lifecycle policy validation failure: ") +
      e.what() + "'");
}

}  // namespace

std::string set_repository_policy(Env& env, simdjson::dom::element body) {
  return run<api::SetRepositoryPolicyRequest>(body, [&](const api::SetRepositoryPolicyRequest& r) {
    check_registry(env, r.registryId);
    simdjson::dom::parser parser;
    try {
      if (!json::parse(parser, r.policyText, "policyText").is_object())
        throw InputError("not an object");
    } catch (const InputError&) {
      throw api::InvalidParameterException(
          "Invalid parameter at 'PolicyText' failed to satisfy constraint: 'Invalid repository "
          "policy provided'");
    }
    env.registry.set_repository_policy(r.repositoryName, r.policyText);
    return api::SetRepositoryPolicyResponse{r.policyText, env.account(), r.repositoryName};
  });
}

std::string get_repository_policy(Env& env, simdjson::dom::element body) {
  return run<api::GetRepositoryPolicyRequest>(body, [&](const api::GetRepositoryPolicyRequest& r) {
    check_registry(env, r.registryId);
    return api::GetRepositoryPolicyResponse{env.registry.repository_policy(r.repositoryName),
                                            env.account(), r.repositoryName};
  });
}

std::string delete_repository_policy(Env& env, simdjson::dom::element body) {
  return run<api::DeleteRepositoryPolicyRequest>(
      body, [&](const api::DeleteRepositoryPolicyRequest& r) {
        check_registry(env, r.registryId);
        return api::DeleteRepositoryPolicyResponse{
            env.registry.delete_repository_policy(r.repositoryName), env.account(),
            r.repositoryName};
      });
}

std::string put_lifecycle_policy(Env& env, simdjson::dom::element body) {
  return run<api::PutLifecyclePolicyRequest>(body, [&](const api::PutLifecyclePolicyRequest& r) {
    check_registry(env, r.registryId);
    try {
      env.registry.put_lifecycle_policy(r.repositoryName, r.lifecyclePolicyText);
    } catch (const InputError& e) {
      invalid_lifecycle(e);
    }
    return api::PutLifecyclePolicyResponse{r.lifecyclePolicyText, env.account(), r.repositoryName};
  });
}

std::string get_lifecycle_policy(Env& env, simdjson::dom::element body) {
  return run<api::GetLifecyclePolicyRequest>(body, [&](const api::GetLifecyclePolicyRequest& r) {
    check_registry(env, r.registryId);
    auto [text, evaluated] = env.registry.lifecycle_policy(r.repositoryName);
    return api::GetLifecyclePolicyResponse{evaluated, text, env.account(), r.repositoryName};
  });
}

std::string delete_lifecycle_policy(Env& env, simdjson::dom::element body) {
  return run<api::DeleteLifecyclePolicyRequest>(
      body, [&](const api::DeleteLifecyclePolicyRequest& r) {
        check_registry(env, r.registryId);
        auto [text, evaluated] = env.registry.delete_lifecycle_policy(r.repositoryName);
        return api::DeleteLifecyclePolicyResponse{evaluated, text, env.account(), r.repositoryName};
      });
}

std::string start_lifecycle_policy_preview(Env& env, simdjson::dom::element body) {
  using Req = api::StartLifecyclePolicyPreviewRequest;
  return run<Req>(body, [&](const Req& r) {
    check_registry(env, r.registryId);
    LifecyclePreview preview;
    try {
      preview = env.registry.start_lifecycle_preview(r.repositoryName, r.lifecyclePolicyText);
    } catch (const InputError& e) {
      invalid_lifecycle(e);
    }
    return api::StartLifecyclePolicyPreviewResponse{preview.policy_text, env.account(),
                                                    r.repositoryName, preview.status};
  });
}

std::string get_lifecycle_policy_preview(Env& env, simdjson::dom::element body) {
  using Req = api::GetLifecyclePolicyPreviewRequest;
  return run<Req>(body, [&](const Req& r) {
    check_registry(env, r.registryId);
    LifecyclePreview preview = env.registry.lifecycle_preview(r.repositoryName);
    api::GetLifecyclePolicyPreviewResponse out;
    out.registryId = env.account();
    out.repositoryName = r.repositoryName;
    out.lifecyclePolicyText = preview.policy_text;
    out.status = preview.status;
    out.previewResults.emplace();
    std::int64_t expiring = 0;
    std::int64_t transitioning = 0;
    for (const auto& p : preview.results) {
      api::LifecyclePolicyPreviewResult result;
      result.imageDigest = p.digest;
      if (!p.tags.empty()) result.imageTags = p.tags;
      result.imagePushedAt = std::chrono::time_point_cast<std::chrono::seconds>(p.pushed_at);
      if (p.action == RuleAction::kTransition) {
        result.action =
            api::LifecyclePolicyRuleAction{std::string("ARCHIVE"), std::string("TRANSITION")};
        ++transitioning;
      } else {
        result.action = api::LifecyclePolicyRuleAction{std::nullopt, std::string("EXPIRE")};
        ++expiring;
      }
      result.storageClass = p.archived ? "ARCHIVE" : "STANDARD";
      result.appliedRulePriority = p.rule_priority;
      out.previewResults->push_back(std::move(result));
    }
    out.summary = api::LifecyclePolicyPreviewSummary{expiring, std::nullopt};
    if (transitioning > 0) {
      out.summary->transitioningImageTotalCounts =
          std::vector{api::TransitioningImageTotalCount{transitioning, std::string("ARCHIVE")}};
    }
    return out;
  });
}

}  // namespace ecr::server::ops
