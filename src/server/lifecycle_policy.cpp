#include "server/lifecycle_policy.hpp"

#include <algorithm>
#include <set>

#include "core/json_reader.hpp"
#include "ecr/error.hpp"
#include "server/wildcard.hpp"

namespace ecr::server {
namespace {

// ECR's limit on wildcards in one tagPatternList entry.
constexpr std::size_t kMaxWildcardsPerPattern = 4;
// Archived images' minimum storage duration (Amazon ECR User Guide, archiving
// an image): no rule may expire them sooner.
constexpr std::int64_t kMinArchiveDays = 90;

[[noreturn]] void invalid(std::size_t rule, const std::string& why) {
  throw InputError(rule == 0 ? why : "rule " + std::to_string(rule) + ": " + why);
}

std::vector<std::string> string_list(simdjson::dom::element list, std::size_t rule,
                                     const char* name) {
  simdjson::dom::array array;
  if (list.get(array) != simdjson::SUCCESS) invalid(rule, std::string(name) + " must be a list");
  std::vector<std::string> out;
  for (simdjson::dom::element item : array) {
    std::string_view s;
    if (item.get(s) != simdjson::SUCCESS || s.empty()) {
      invalid(rule, std::string(name) + " entries must be non-empty strings");
    }
    out.emplace_back(s);
  }
  if (out.empty()) invalid(rule, std::string(name) + " must not be empty");
  return out;
}

std::int64_t positive_integer(simdjson::dom::object object, std::string_view key,
                              std::size_t rule) {
  std::int64_t value = 0;
  if (object[key].get(value) != simdjson::SUCCESS) {
    invalid(rule, std::string(key) + " is required and must be an integer");
  }
  if (value < 1) invalid(rule, std::string(key) + " must be at least 1");
  return value;
}

void parse_selection(simdjson::dom::object selection, LifecycleRule& r, std::size_t n) {
  std::string_view status;
  if (selection["tagStatus"].get(status) != simdjson::SUCCESS) invalid(n, "tagStatus is required");
  if (status == "tagged") {
    r.tag_status = TagStatus::kTagged;
  } else if (status == "untagged") {
    r.tag_status = TagStatus::kUntagged;
  } else if (status == "any") {
    r.tag_status = TagStatus::kAny;
  } else {
    invalid(n, "tagStatus must be tagged, untagged or any, not '" + std::string(status) + "'");
  }
  simdjson::dom::element list;
  if (selection["tagPrefixList"].get(list) == simdjson::SUCCESS) {
    r.tag_prefixes = string_list(list, n, "tagPrefixList");
  }
  if (selection["tagPatternList"].get(list) == simdjson::SUCCESS) {
    r.tag_patterns = string_list(list, n, "tagPatternList");
  }
  bool has_lists = !r.tag_prefixes.empty() || !r.tag_patterns.empty();
  if (r.tag_status == TagStatus::kTagged && !has_lists) {
    invalid(n, "tagStatus 'tagged' requires tagPrefixList or tagPatternList");
  }
  if (r.tag_status == TagStatus::kTagged && !r.tag_prefixes.empty() && !r.tag_patterns.empty()) {
    invalid(n, "tagPrefixList and tagPatternList cannot both be given");
  }
  if (r.tag_status != TagStatus::kTagged && has_lists) {
    invalid(n, "tagPrefixList and tagPatternList are only allowed with tagStatus 'tagged'");
  }
  for (const auto& pattern : r.tag_patterns) {
    if (static_cast<std::size_t>(std::count(pattern.begin(), pattern.end(), '*')) >
        kMaxWildcardsPerPattern) {
      invalid(n, "tagPatternList entry '" + pattern + "' has more than 4 wildcards");
    }
  }

  std::string_view storage_class = "standard";
  bool has_storage_class = selection["storageClass"].error() != simdjson::NO_SUCH_FIELD;
  if (has_storage_class && selection["storageClass"].get(storage_class) != simdjson::SUCCESS) {
    invalid(n, "storageClass must be a string");
  }
  if (storage_class == "standard") {
    r.storage_class = StorageClass::kStandard;
  } else if (storage_class == "archive") {
    r.storage_class = StorageClass::kArchive;
  } else {
    invalid(n,
            "storageClass must be standard or archive, not '" + std::string(storage_class) + "'");
  }

  std::string_view count_type;
  if (selection["countType"].get(count_type) != simdjson::SUCCESS) {
    invalid(n, "countType is required");
  }
  std::string_view unit;
  bool has_unit = selection["countUnit"].get(unit) == simdjson::SUCCESS;
  if (count_type == "imageCountMoreThan") {
    r.count_type = CountType::kImageCountMoreThan;
    if (has_unit) invalid(n, "countUnit is not allowed with countType 'imageCountMoreThan'");
  } else if (count_type == "sinceImagePushed" || count_type == "sinceImagePulled" ||
             count_type == "sinceImageTransitioned") {
    r.count_type = count_type == "sinceImagePushed"   ? CountType::kSinceImagePushed
                   : count_type == "sinceImagePulled" ? CountType::kSinceImagePulled
                                                      : CountType::kSinceImageTransitioned;
    if (!has_unit || unit != "days") {
      invalid(n, "countType '" + std::string(count_type) + "' requires countUnit 'days'");
    }
  } else {
    invalid(n,
            "countType must be imageCountMoreThan, sinceImagePushed, sinceImagePulled or "
            "sinceImageTransitioned, not '" +
                std::string(count_type) + "'");
  }
  r.count_number = positive_integer(selection, "countNumber", n);
  if (r.count_type == CountType::kSinceImageTransitioned) {
    if (!has_storage_class || r.storage_class != StorageClass::kArchive) {
      invalid(n, "countType 'sinceImageTransitioned' requires storageClass 'archive'");
    }
    if (r.count_number < kMinArchiveDays) {
      invalid(n, "countType 'sinceImageTransitioned' requires a countNumber of at least 90 days");
    }
  } else if (r.storage_class == StorageClass::kArchive) {
    invalid(n, "storageClass 'archive' is only allowed with countType 'sinceImageTransitioned'");
  }
}

void parse_action(simdjson::dom::object rule, LifecycleRule& r, std::size_t n) {
  simdjson::dom::object action;
  if (rule["action"].get(action) != simdjson::SUCCESS) invalid(n, "action is required");
  std::string_view type;
  if (action["type"].get(type) != simdjson::SUCCESS || (type != "expire" && type != "transition")) {
    invalid(n, "action.type must be 'expire' or 'transition'");
  }
  bool has_target = action["targetStorageClass"].error() != simdjson::NO_SUCH_FIELD;
  if (type == "expire") {
    r.action = RuleAction::kExpire;
    if (has_target) invalid(n, "action.targetStorageClass is only allowed with type 'transition'");
    if (r.count_type == CountType::kSinceImagePulled) {
      invalid(n, "countType 'sinceImagePulled' is only allowed with action type 'transition'");
    }
    return;
  }
  r.action = RuleAction::kTransition;
  std::string_view target;
  if (action["targetStorageClass"].get(target) != simdjson::SUCCESS || target != "archive") {
    invalid(n, "action type 'transition' requires targetStorageClass 'archive'");
  }
  if (r.count_type == CountType::kSinceImageTransitioned) {
    invalid(n, "countType 'sinceImageTransitioned' is only allowed with action type 'expire'");
  }
}

LifecycleRule parse_rule(simdjson::dom::element element, std::size_t n) {
  simdjson::dom::object rule;
  if (element.get(rule) != simdjson::SUCCESS) invalid(n, "a rule must be an object");
  LifecycleRule r;
  r.priority = positive_integer(rule, "rulePriority", n);
  std::string_view description;
  if (rule["description"].get(description) == simdjson::SUCCESS) r.description = description;
  simdjson::dom::object selection;
  if (rule["selection"].get(selection) != simdjson::SUCCESS) invalid(n, "selection is required");
  parse_selection(selection, r, n);
  parse_action(rule, r, n);
  return r;
}

bool matches_selection(const LifecycleRule& rule, const LifecycleImage& image) {
  ImageState wanted =
      rule.storage_class == StorageClass::kArchive ? ImageState::kArchived : ImageState::kActive;
  if (image.state != wanted) return false;
  switch (rule.tag_status) {
    case TagStatus::kAny:
      return true;
    case TagStatus::kUntagged:
      return image.tags.empty();
    case TagStatus::kTagged:
      break;
  }
  auto some_tag = [&](auto&& pred) {
    return std::any_of(image.tags.begin(), image.tags.end(), pred);
  };
  for (const auto& prefix : rule.tag_prefixes) {
    if (!some_tag([&](const std::string& t) { return t.starts_with(prefix); })) return false;
  }
  for (const auto& pattern : rule.tag_patterns) {
    if (!some_tag([&](const std::string& t) { return wildcard_match(pattern, t); })) {
      return false;
    }
  }
  return !image.tags.empty();
}

// The time a day-counting rule measures from; nullopt: the rule cannot
// apply (an image never archived has no transition time).
std::optional<Timestamp> rule_clock(CountType type, const LifecycleImage& image) {
  switch (type) {
    case CountType::kSinceImagePulled: {
      std::optional<Timestamp> last = image.pulled_at;
      if (image.activated_at && (!last || *image.activated_at > *last)) last = image.activated_at;
      return last ? last : std::optional(image.pushed_at);
    }
    case CountType::kSinceImageTransitioned:
      return image.archived_at;
    case CountType::kSinceImagePushed:
    case CountType::kImageCountMoreThan:
      break;
  }
  return image.pushed_at;
}

}  // namespace

LifecyclePolicy parse_lifecycle_policy(std::string_view text) {
  simdjson::dom::parser parser;
  simdjson::dom::element root = json::parse(parser, text, "lifecyclePolicyText");
  simdjson::dom::array rules;
  if (root["rules"].get(rules) != simdjson::SUCCESS) invalid(0, "'rules' must be a list");
  LifecyclePolicy policy;
  std::size_t n = 0;
  for (simdjson::dom::element rule : rules) policy.rules.push_back(parse_rule(rule, ++n));
  if (policy.rules.empty()) invalid(0, "'rules' must hold at least one rule");

  std::sort(policy.rules.begin(), policy.rules.end(),
            [](const auto& a, const auto& b) { return a.priority < b.priority; });
  for (std::size_t i = 1; i < policy.rules.size(); ++i) {
    if (policy.rules[i - 1].priority == policy.rules[i].priority) {
      invalid(0, "rulePriority " + std::to_string(policy.rules[i].priority) +
                     " is used more than once");
    }
  }
  // The ordering rules hold among the rules of one storage class: a policy
  // archives with an "any" rule and expires archived images with another.
  for (StorageClass storage : {StorageClass::kStandard, StorageClass::kArchive}) {
    const char* suffix = storage == StorageClass::kArchive ? " of storageClass 'archive'" : "";
    int untagged_rules = 0;
    bool any_seen = false;
    for (const LifecycleRule& r : policy.rules) {
      if (r.storage_class != storage) continue;
      if (any_seen) {
        invalid(0, std::string("a rule with tagStatus 'any' must have the highest rulePriority") +
                       suffix);
      }
      any_seen = r.tag_status == TagStatus::kAny;
      if (r.tag_status == TagStatus::kUntagged && ++untagged_rules > 1) {
        invalid(0, std::string("only one rule may select untagged images") + suffix);
      }
    }
  }
  return policy;
}

std::vector<LifecycleOutcome> evaluate_lifecycle(const LifecyclePolicy& policy,
                                                 std::span<const LifecycleImage> images,
                                                 Timestamp now) {
  // Newest first, digest as the tie-break so equal push times give one answer.
  std::vector<std::size_t> newest_first(images.size());
  for (std::size_t i = 0; i < images.size(); ++i) newest_first[i] = i;
  std::sort(newest_first.begin(), newest_first.end(), [&](std::size_t a, std::size_t b) {
    if (images[a].pushed_at != images[b].pushed_at)
      return images[a].pushed_at > images[b].pushed_at;
    return images[a].digest < images[b].digest;
  });

  std::vector<bool> claimed(images.size(), false);
  std::vector<LifecycleOutcome> out;
  for (const LifecycleRule& rule : policy.rules) {
    std::vector<std::size_t> selected;
    for (std::size_t i : newest_first) {
      if (matches_selection(rule, images[i])) selected.push_back(i);
    }
    std::vector<std::size_t> acting;
    if (rule.count_type == CountType::kImageCountMoreThan) {
      for (std::size_t k = static_cast<std::size_t>(rule.count_number); k < selected.size(); ++k) {
        acting.push_back(selected[k]);
      }
    } else {
      Timestamp cutoff = now - std::chrono::days(rule.count_number);
      for (std::size_t i : selected) {
        if (std::optional<Timestamp> since = rule_clock(rule.count_type, images[i]);
            since && *since < cutoff) {
          acting.push_back(i);
        }
      }
    }
    for (std::size_t i : acting) {
      if (!claimed[i]) out.push_back({i, rule.priority, rule.action});
    }
    for (std::size_t i : selected) claimed[i] = true;
  }
  std::sort(out.begin(), out.end(), [&](const LifecycleOutcome& a, const LifecycleOutcome& b) {
    if (images[a.image].pushed_at != images[b.image].pushed_at) {
      return images[a.image].pushed_at < images[b.image].pushed_at;
    }
    return images[a.image].digest < images[b.image].digest;
  });
  return out;
}

}  // namespace ecr::server
