// How the AWS CLI spells a model member as an option: botocore's
// xform_name(name, '-'), so `ecr` accepts exactly the options `aws ecr` does.
#pragma once

#include <string>
#include <string_view>

namespace ecr::cli {

// "repositoryName" -> "repository-name", "imageIds" -> "image-ids",
// "upstreamRegistryUrl" -> "upstream-registry-url", "KMSKey" -> "kms-key".
std::string kebab_case(std::string_view member_name);

}  // namespace ecr::cli
