// ECR lifecycle policies: the JSON document, parsed and validated by the rules
// ECR enforces (the Amazon ECR User Guide's lifecycle policy properties), and the evaluator that
// decides which images a policy expires. Pure logic: no storage, no clock of
// its own, so the same code serves previews, periodic runs and tests.
#pragma once

#include <chrono>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace ecr::server {

using Timestamp = std::chrono::sys_time<std::chrono::milliseconds>;

enum class TagStatus { kTagged, kUntagged, kAny };
enum class CountType { kImageCountMoreThan, kSinceImagePushed };

struct LifecycleRule {
  std::int64_t priority = 0;
  std::string description;
  TagStatus tag_status = TagStatus::kAny;
  std::vector<std::string> tag_prefixes;  // tagged rules: every prefix must match some tag
  std::vector<std::string> tag_patterns;  // tagged rules: every pattern must match some tag
  CountType count_type = CountType::kImageCountMoreThan;
  std::int64_t count_number = 0;  // images to keep, or days since push
};

// Rules in ascending priority order (the order they are applied in).
struct LifecyclePolicy {
  std::vector<LifecycleRule> rules;
};

// Parses and validates a lifecycle policy document. Throws InputError whose
// message says which rule broke which constraint, e.g. "rule 2: tagStatus
// 'tagged' requires tagPrefixList or tagPatternList".
LifecyclePolicy parse_lifecycle_policy(std::string_view text);

// An image as the evaluator sees it.
struct LifecycleImage {
  std::string digest;
  std::vector<std::string> tags;
  Timestamp pushed_at;
};

struct Expiration {
  std::size_t image;  // index into the images given to evaluate_lifecycle
  std::int64_t rule_priority;
};

// Applies `policy` to `images` at time `now`. Rules run in priority order; a
// rule counts every image its selection matches (including ones a higher
// rule already expires, as ECR does) but expires only images no higher rule
// selected, so an image is expired by at most one rule. Returns expirations
// oldest push first.
std::vector<Expiration> evaluate_lifecycle(const LifecyclePolicy& policy,
                                           std::span<const LifecycleImage> images, Timestamp now);

}  // namespace ecr::server
