// The response shape of every operation of the model, for the targets that
// check what the client reads: each entry parses a response body with the
// generated deserializer (api::from_json) and writes it back (api::to_json).
// Sorted by operation name; model_table's operations() must list the same
// names (response_fuzz checks it once).
#pragma once

#include <array>
#include <string>
#include <string_view>

#include "api/serde.hpp"
#include "ecr/model.hpp"

namespace ecr::fuzz {

struct ResponseShape {
  std::string_view operation;
  // Parses `body` as the operation's response and serializes the result.
  // Throws what api::from_json throws (InputError for malformed JSON or a
  // member of the wrong type).
  std::string (*reserialize)(std::string_view body);
};

template <class Response>
std::string reserialize(std::string_view body) {
  return api::to_json(api::from_json<Response>(body));
}

inline constexpr std::array<ResponseShape, 58> kResponseShapes{{
    {"BatchCheckLayerAvailability", &reserialize<api::BatchCheckLayerAvailabilityResponse>},
    {"BatchDeleteImage", &reserialize<api::BatchDeleteImageResponse>},
    {"BatchGetImage", &reserialize<api::BatchGetImageResponse>},
    {"BatchGetRepositoryScanningConfiguration",
     &reserialize<api::BatchGetRepositoryScanningConfigurationResponse>},
    {"CompleteLayerUpload", &reserialize<api::CompleteLayerUploadResponse>},
    {"CreatePullThroughCacheRule", &reserialize<api::CreatePullThroughCacheRuleResponse>},
    {"CreateRepository", &reserialize<api::CreateRepositoryResponse>},
    {"CreateRepositoryCreationTemplate",
     &reserialize<api::CreateRepositoryCreationTemplateResponse>},
    {"DeleteLifecyclePolicy", &reserialize<api::DeleteLifecyclePolicyResponse>},
    {"DeletePullThroughCacheRule", &reserialize<api::DeletePullThroughCacheRuleResponse>},
    {"DeleteRegistryPolicy", &reserialize<api::DeleteRegistryPolicyResponse>},
    {"DeleteRepository", &reserialize<api::DeleteRepositoryResponse>},
    {"DeleteRepositoryCreationTemplate",
     &reserialize<api::DeleteRepositoryCreationTemplateResponse>},
    {"DeleteRepositoryPolicy", &reserialize<api::DeleteRepositoryPolicyResponse>},
    {"DeleteSigningConfiguration", &reserialize<api::DeleteSigningConfigurationResponse>},
    {"DeregisterPullTimeUpdateExclusion",
     &reserialize<api::DeregisterPullTimeUpdateExclusionResponse>},
    {"DescribeImageReplicationStatus", &reserialize<api::DescribeImageReplicationStatusResponse>},
    {"DescribeImageScanFindings", &reserialize<api::DescribeImageScanFindingsResponse>},
    {"DescribeImageSigningStatus", &reserialize<api::DescribeImageSigningStatusResponse>},
    {"DescribeImages", &reserialize<api::DescribeImagesResponse>},
    {"DescribePullThroughCacheRules", &reserialize<api::DescribePullThroughCacheRulesResponse>},
    {"DescribeRegistry", &reserialize<api::DescribeRegistryResponse>},
    {"DescribeRepositories", &reserialize<api::DescribeRepositoriesResponse>},
    {"DescribeRepositoryCreationTemplates",
     &reserialize<api::DescribeRepositoryCreationTemplatesResponse>},
    {"GetAccountSetting", &reserialize<api::GetAccountSettingResponse>},
    {"GetAuthorizationToken", &reserialize<api::GetAuthorizationTokenResponse>},
    {"GetDownloadUrlForLayer", &reserialize<api::GetDownloadUrlForLayerResponse>},
    {"GetLifecyclePolicy", &reserialize<api::GetLifecyclePolicyResponse>},
    {"GetLifecyclePolicyPreview", &reserialize<api::GetLifecyclePolicyPreviewResponse>},
    {"GetRegistryPolicy", &reserialize<api::GetRegistryPolicyResponse>},
    {"GetRegistryScanningConfiguration",
     &reserialize<api::GetRegistryScanningConfigurationResponse>},
    {"GetRepositoryPolicy", &reserialize<api::GetRepositoryPolicyResponse>},
    {"GetSigningConfiguration", &reserialize<api::GetSigningConfigurationResponse>},
    {"InitiateLayerUpload", &reserialize<api::InitiateLayerUploadResponse>},
    {"ListImageReferrers", &reserialize<api::ListImageReferrersResponse>},
    {"ListImages", &reserialize<api::ListImagesResponse>},
    {"ListPullTimeUpdateExclusions", &reserialize<api::ListPullTimeUpdateExclusionsResponse>},
    {"ListTagsForResource", &reserialize<api::ListTagsForResourceResponse>},
    {"PutAccountSetting", &reserialize<api::PutAccountSettingResponse>},
    {"PutImage", &reserialize<api::PutImageResponse>},
    {"PutImageScanningConfiguration", &reserialize<api::PutImageScanningConfigurationResponse>},
    {"PutImageTagMutability", &reserialize<api::PutImageTagMutabilityResponse>},
    {"PutLifecyclePolicy", &reserialize<api::PutLifecyclePolicyResponse>},
    {"PutRegistryPolicy", &reserialize<api::PutRegistryPolicyResponse>},
    {"PutRegistryScanningConfiguration",
     &reserialize<api::PutRegistryScanningConfigurationResponse>},
    {"PutReplicationConfiguration", &reserialize<api::PutReplicationConfigurationResponse>},
    {"PutSigningConfiguration", &reserialize<api::PutSigningConfigurationResponse>},
    {"RegisterPullTimeUpdateExclusion", &reserialize<api::RegisterPullTimeUpdateExclusionResponse>},
    {"SetRepositoryPolicy", &reserialize<api::SetRepositoryPolicyResponse>},
    {"StartImageScan", &reserialize<api::StartImageScanResponse>},
    {"StartLifecyclePolicyPreview", &reserialize<api::StartLifecyclePolicyPreviewResponse>},
    {"TagResource", &reserialize<api::TagResourceResponse>},
    {"UntagResource", &reserialize<api::UntagResourceResponse>},
    {"UpdateImageStorageClass", &reserialize<api::UpdateImageStorageClassResponse>},
    {"UpdatePullThroughCacheRule", &reserialize<api::UpdatePullThroughCacheRuleResponse>},
    {"UpdateRepositoryCreationTemplate",
     &reserialize<api::UpdateRepositoryCreationTemplateResponse>},
    {"UploadLayerPart", &reserialize<api::UploadLayerPartResponse>},
    {"ValidatePullThroughCacheRule", &reserialize<api::ValidatePullThroughCacheRuleResponse>},
}};

}  // namespace ecr::fuzz
