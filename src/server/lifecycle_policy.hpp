// ECR lifecycle policies: the JSON document, parsed and validated by the rules
// ECR enforces (the Amazon ECR User Guide's lifecycle policy properties), and the evaluator that
// decides which images a policy expires or moves to the archive storage
// class. Pure logic: no storage, no clock of
// its own, so the same code serves previews, periodic runs and tests.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace ecr::server {

using Timestamp = std::chrono::sys_time<std::chrono::milliseconds>;

enum class TagStatus { kTagged, kUntagged, kAny };
enum class CountType {
  kImageCountMoreThan,
  kSinceImagePushed,
  kSinceImagePulled,        // days since the last recorded pull (transition only)
  kSinceImageTransitioned,  // days since the image was archived (expire only)
};
// The storage class a rule selects from ("storageClass": standard, archive).
enum class StorageClass { kStandard, kArchive };
// "action": {"type": "expire"} or {"type": "transition", "targetStorageClass": "archive"}.
enum class RuleAction { kExpire, kTransition };

struct LifecycleRule {
  std::int64_t priority = 0;
  std::string description;
  TagStatus tag_status = TagStatus::kAny;
  std::vector<std::string> tag_prefixes;  // tagged rules: every prefix must match some tag
  std::vector<std::string> tag_patterns;  // tagged rules: every pattern must match some tag
  StorageClass storage_class = StorageClass::kStandard;
  CountType count_type = CountType::kImageCountMoreThan;
  std::int64_t count_number = 0;  // images to keep, or days
  RuleAction action = RuleAction::kExpire;
};

// Rules in ascending priority order (the order they are applied in).
struct LifecyclePolicy {
  std::vector<LifecycleRule> rules;
};

// Parses and validates a lifecycle policy document. Throws InputError whose
// message says which rule broke which constraint, e.g. "rule 2: tagStatus
// 'tagged' requires tagPrefixList or tagPatternList". Besides the tag rules,
// ECR's storage class rules: transition only to archive and never with
// sinceImageTransitioned; sinceImagePulled only with transition;
// sinceImageTransitioned only with storageClass archive, expire and a
// countNumber of at least 90 (archived images' minimum storage duration);
// every other count type only with storageClass standard. The ordering
// rules ("any" last, one untagged rule) hold among the rules of one
// storage class.
LifecyclePolicy parse_lifecycle_policy(std::string_view text);

// Where an image is, as lifecycle rules see it: standard rules select
// active images, archive rules archived ones; an image being restored is
// left alone until it is active.
enum class ImageState { kActive, kArchived, kActivating };

// An image as the evaluator sees it.
struct LifecycleImage {
  std::string digest;
  std::vector<std::string> tags;
  Timestamp pushed_at;
  ImageState state = ImageState::kActive;
  std::optional<Timestamp> pulled_at = std::nullopt;     // last recorded pull
  std::optional<Timestamp> activated_at = std::nullopt;  // last restore from the archive
  std::optional<Timestamp> archived_at = std::nullopt;   // last move to the archive
};

// What one rule does to one image.
struct LifecycleOutcome {
  std::size_t image;  // index into the images given to evaluate_lifecycle
  std::int64_t rule_priority;
  RuleAction action;
};

// Applies `policy` to `images` at time `now`. Rules run in priority order; a
// rule counts every image its selection matches (including ones a higher
// rule already acts on, as ECR does) but acts only on images no higher rule
// selected, so an image is acted on by at most one rule. sinceImagePulled
// measures from the last pull, or the last restore when that is later, or
// the push when the image was never pulled nor restored. Returns outcomes
// oldest push first.
std::vector<LifecycleOutcome> evaluate_lifecycle(const LifecyclePolicy& policy,
                                                 std::span<const LifecycleImage> images,
                                                 Timestamp now);

}  // namespace ecr::server
