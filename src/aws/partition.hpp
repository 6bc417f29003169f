// Which AWS partition a region belongs to, and the DNS names that follows
// from: the API endpoint api.ecr.<region>.<dns_suffix> and the registry hosts
// <account>.dkr.ecr.<region>.<dns_suffix> (dual-stack: <account>.dkr-ecr.
// <region>.<dual_stack_dns_suffix>). From botocore's partitions.json (the
// regionRegex and dnsSuffix of each partition) and the ECR endpoint list.
#pragma once

#include <string_view>

namespace ecr::aws {

struct Partition {
  std::string_view dns_suffix;             // "amazonaws.com", "amazonaws.com.cn", ...
  std::string_view dual_stack_dns_suffix;  // "on.aws"; empty where ECR has no dual-stack hosts
};

// The partition of `region`, by its prefix ("cn-", "us-iso-", "us-isob-",
// "eu-isoe-", "us-isof-", "eusc-"); any other region is in the commercial
// partition (GovCloud shares its DNS names).
const Partition& partition_of(std::string_view region) noexcept;

}  // namespace ecr::aws
