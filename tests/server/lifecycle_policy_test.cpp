// The lifecycle rules ECR documents (Amazon ECR User Guide), one test per rule, and a
// table of mixed policies with the expirations ECR would make.
#include "server/lifecycle_policy.hpp"
#include "server/wildcard.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "ecr/error.hpp"

namespace ecr::server {
namespace {

using std::chrono::days;
using std::chrono::hours;

const Timestamp kNow = Timestamp(std::chrono::milliseconds(1'700'000'000'000));

std::string rule(int priority, const std::string& selection) {
  return R"({"rulePriority":)" + std::to_string(priority) + R"(,"selection":{)" + selection +
         R"(},"action":{"type":"expire"}})";
}
std::string policy(const std::vector<std::string>& rules) {
  std::string out = R"({"rules":[)";
  for (std::size_t i = 0; i < rules.size(); ++i) out += (i ? "," : "") + rules[i];
  return out + "]}";
}

std::string refusal(const std::string& text) {
  try {
    parse_lifecycle_policy(text);
  } catch (const InputError& e) {
    return e.what();
  }
  return "accepted";
}

// Images pushed one day apart, index 0 the oldest.
std::vector<LifecycleImage> images(const std::vector<std::vector<std::string>>& tags) {
  std::vector<LifecycleImage> out;
  for (std::size_t i = 0; i < tags.size(); ++i) {
    out.push_back({"sha256:" + std::string(63, '0') + std::to_string(i % 10), tags[i],
                   kNow - days(static_cast<int>(tags.size() - i))});
  }
  return out;
}

// "index@priority" for each outcome, in the evaluator's order, with
// "(archive)" after the ones that transition rather than expire.
std::vector<std::string> expire(const std::string& text, const std::vector<LifecycleImage>& imgs) {
  std::vector<std::string> out;
  for (const auto& e : evaluate_lifecycle(parse_lifecycle_policy(text), imgs, kNow)) {
    out.push_back(std::to_string(e.image) + "@" + std::to_string(e.rule_priority) +
                  (e.action == RuleAction::kTransition ? "(archive)" : ""));
  }
  return out;
}

// A rule that moves the images it selects to the archive.
std::string archive_rule(int priority, const std::string& selection) {
  return R"({"rulePriority":)" + std::to_string(priority) + R"(,"selection":{)" + selection +
         R"(},"action":{"type":"transition","targetStorageClass":"archive"}})";
}

// Images as images() makes them, the i-th in `states` (A active, R archived,
// V activating) and archived/pulled/restored the given days ago (-1: never).
struct Moment {
  char state = 'A';
  int archived_days_ago = -1;
  int pulled_days_ago = -1;
  int activated_days_ago = -1;
};
std::vector<LifecycleImage> storage(const std::vector<std::vector<std::string>>& tags,
                                    const std::vector<Moment>& moments) {
  std::vector<LifecycleImage> out = images(tags);
  auto ago = [](int d) -> std::optional<Timestamp> {
    if (d < 0) return std::nullopt;
    return kNow - days(d);
  };
  for (std::size_t i = 0; i < moments.size(); ++i) {
    const Moment& m = moments[i];
    out[i].state = m.state == 'R'   ? ImageState::kArchived
                   : m.state == 'V' ? ImageState::kActivating
                                    : ImageState::kActive;
    out[i].archived_at = ago(m.archived_days_ago);
    out[i].pulled_at = ago(m.pulled_days_ago);
    out[i].activated_at = ago(m.activated_days_ago);
  }
  return out;
}

TEST(LifecyclePolicy, RulePrioritiesMustBeUnique) {
  auto text = policy(
      {rule(1, R"("tagStatus":"untagged","countType":"imageCountMoreThan","countNumber":1)"),
       rule(
           1,
           R"("tagStatus":"tagged","tagPrefixList":["a"],"countType":"imageCountMoreThan","countNumber":1)")});
  EXPECT_EQ(refusal(text), "rulePriority 1 is used more than once");
}

TEST(LifecyclePolicy, TaggedNeedsPrefixOrPatternList) {
  auto text =
      policy({rule(1, R"("tagStatus":"tagged","countType":"imageCountMoreThan","countNumber":1)")});
  EXPECT_EQ(refusal(text), "rule 1: tagStatus 'tagged' requires tagPrefixList or tagPatternList");
}

TEST(LifecyclePolicy, UntaggedTakesNoTagLists) {
  auto text = policy({rule(
      1,
      R"("tagStatus":"untagged","tagPrefixList":["a"],"countType":"imageCountMoreThan","countNumber":1)")});
  EXPECT_EQ(refusal(text),
            "rule 1: tagPrefixList and tagPatternList are only allowed with tagStatus 'tagged'");
}

TEST(LifecyclePolicy, PatternsHoldAtMostFourWildcards) {
  auto ok = policy({rule(
      1,
      R"("tagStatus":"tagged","tagPatternList":["*a*b*c*"],"countType":"imageCountMoreThan","countNumber":1)")});
  auto bad = policy({rule(
      1,
      R"("tagStatus":"tagged","tagPatternList":["*a*b*c*d*"],"countType":"imageCountMoreThan","countNumber":1)")});
  EXPECT_EQ(refusal(ok), "accepted");
  EXPECT_EQ(refusal(bad), "rule 1: tagPatternList entry '*a*b*c*d*' has more than 4 wildcards");
}

TEST(LifecyclePolicy, AnyRuleMustHaveTheHighestPriorityNumber) {
  auto text = policy(
      {rule(1, R"("tagStatus":"any","countType":"imageCountMoreThan","countNumber":1)"),
       rule(2, R"("tagStatus":"untagged","countType":"imageCountMoreThan","countNumber":1)")});
  EXPECT_EQ(refusal(text), "a rule with tagStatus 'any' must have the highest rulePriority");
}

TEST(LifecyclePolicy, SinceImagePushedNeedsDays) {
  auto none =
      policy({rule(1, R"("tagStatus":"untagged","countType":"sinceImagePushed","countNumber":1)")});
  auto hours_unit = policy({rule(
      1,
      R"("tagStatus":"untagged","countType":"sinceImagePushed","countUnit":"hours","countNumber":1)")});
  EXPECT_EQ(refusal(none), "rule 1: countType 'sinceImagePushed' requires countUnit 'days'");
  EXPECT_EQ(refusal(hours_unit), "rule 1: countType 'sinceImagePushed' requires countUnit 'days'");
}

TEST(LifecyclePolicy, ImageCountMoreThanTakesNoUnit) {
  auto text = policy({rule(
      1,
      R"("tagStatus":"untagged","countType":"imageCountMoreThan","countUnit":"days","countNumber":1)")});
  EXPECT_EQ(refusal(text), "rule 1: countUnit is not allowed with countType 'imageCountMoreThan'");
}

TEST(LifecyclePolicy, UnknownCountTypeAndActionAreRefused) {
  EXPECT_EQ(
      refusal(policy({rule(1, R"("tagStatus":"untagged","countType":"bytes","countNumber":1)")})),
      "rule 1: countType must be imageCountMoreThan, sinceImagePushed, sinceImagePulled or "
      "sinceImageTransitioned, not 'bytes'");
  EXPECT_EQ(
      refusal(
          R"({"rules":[{"rulePriority":1,"selection":{"tagStatus":"any","countType":"imageCountMoreThan","countNumber":1},"action":{"type":"archive"}}]})"),
      "rule 1: action.type must be 'expire' or 'transition'");
  EXPECT_EQ(refusal(R"({"rules":[]})"), "'rules' must hold at least one rule");
  EXPECT_EQ(refusal("{not json"), refusal("{not json"));  // InputError, not a crash
}

TEST(LifecyclePolicy, ImageCountMoreThanKeepsTheNewest) {
  auto text =
      policy({rule(1, R"("tagStatus":"any","countType":"imageCountMoreThan","countNumber":2)")});
  EXPECT_EQ(expire(text, images({{"a"}, {}, {"b"}, {"c"}})),
            (std::vector<std::string>{"0@1", "1@1"}));
}

TEST(LifecyclePolicy, SinceImagePushedCountsDays) {
  auto text = policy({rule(
      1,
      R"("tagStatus":"any","countType":"sinceImagePushed","countUnit":"days","countNumber":2)")});
  // Pushed 4, 3, 2 and 1 days ago: only those strictly older than 2 days go.
  EXPECT_EQ(expire(text, images({{"a"}, {"b"}, {"c"}, {"d"}})),
            (std::vector<std::string>{"0@1", "1@1"}));
}

TEST(LifecyclePolicy, TagPrefixListNeedsEveryPrefixMatched) {
  auto text = policy({rule(
      1,
      R"("tagStatus":"tagged","tagPrefixList":["prod","v1"],"countType":"imageCountMoreThan","countNumber":0)")});
  // countNumber 0 is refused, so keep 1 of the matching images.
  auto one = policy({rule(
      1,
      R"("tagStatus":"tagged","tagPrefixList":["prod","v1"],"countType":"imageCountMoreThan","countNumber":1)")});
  EXPECT_EQ(refusal(text), "rule 1: countNumber must be at least 1");
  EXPECT_EQ(expire(one, images({{"prod-a", "v1.0"}, {"prod-b"}, {"prod-c", "v1.1"}})),
            (std::vector<std::string>{"0@1"}));
}

TEST(LifecyclePolicy, TagPatternListMatchesWildcards) {
  EXPECT_TRUE(wildcard_match("prod*release", "prod-2024-release"));
  EXPECT_TRUE(wildcard_match("prod*", "prod"));
  EXPECT_TRUE(wildcard_match("*", "abc"));
  EXPECT_FALSE(wildcard_match("prod*x", "production"));
  EXPECT_FALSE(wildcard_match("prod*", "xprod"));
  EXPECT_TRUE(wildcard_match("*-*-*", "a-b-c"));
  auto text = policy({rule(
      1,
      R"("tagStatus":"tagged","tagPatternList":["*-rc*"],"countType":"imageCountMoreThan","countNumber":1)")});
  EXPECT_EQ(expire(text, images({{"v1-rc1"}, {"v1"}, {"v2-rc2"}, {"v2-rc3"}})),
            (std::vector<std::string>{"0@1", "2@1"}));
}

TEST(LifecyclePolicy, UntaggedSelectsOnlyImagesWithoutTags) {
  auto text = policy(
      {rule(1, R"("tagStatus":"untagged","countType":"imageCountMoreThan","countNumber":1)")});
  EXPECT_EQ(expire(text, images({{}, {"a"}, {}, {}})), (std::vector<std::string>{"0@1", "2@1"}));
}

TEST(LifecyclePolicy, AnImageIsExpiredByAtMostOneRuleInPriorityOrder) {
  // Rule 1 selects prod images (keeps 1); rule 2 (any, keep 1) may not expire
  // a prod image even though it counts them.
  auto text = policy(
      {rule(
           1,
           R"("tagStatus":"tagged","tagPrefixList":["prod"],"countType":"imageCountMoreThan","countNumber":1)"),
       rule(2, R"("tagStatus":"any","countType":"imageCountMoreThan","countNumber":1)")});
  EXPECT_EQ(expire(text, images({{"prod1"}, {"dev1"}, {"prod2"}, {"dev2"}})),
            (std::vector<std::string>{"0@1", "1@2"}));
}

TEST(LifecyclePolicy, ExpirationsComeOldestFirst) {
  auto text = policy(
      {rule(2, R"("tagStatus":"untagged","countType":"imageCountMoreThan","countNumber":1)"),
       rule(
           1,
           R"("tagStatus":"tagged","tagPrefixList":["x"],"countType":"imageCountMoreThan","countNumber":1)")});
  EXPECT_EQ(expire(text, images({{"x1"}, {}, {"x2"}, {}, {"x3"}, {}})),
            (std::vector<std::string>{"0@1", "1@2", "2@1", "3@2"}));
}

TEST(LifecyclePolicy, TransitionNeedsTargetStorageClassArchive) {
  const std::string sel = R"("tagStatus":"any","countType":"imageCountMoreThan","countNumber":1)";
  auto with_action = [&](const std::string& action) {
    return R"({"rules":[{"rulePriority":1,"selection":{)" + sel + R"(},"action":)" + action + "}]}";
  };
  EXPECT_EQ(refusal(with_action(R"({"type":"transition"})")),
            "rule 1: action type 'transition' requires targetStorageClass 'archive'");
  EXPECT_EQ(refusal(with_action(R"({"type":"transition","targetStorageClass":"standard"})")),
            "rule 1: action type 'transition' requires targetStorageClass 'archive'");
  EXPECT_EQ(refusal(with_action(R"({"type":"expire","targetStorageClass":"archive"})")),
            "rule 1: action.targetStorageClass is only allowed with type 'transition'");
  EXPECT_EQ(refusal(with_action(R"({"type":"transition","targetStorageClass":"archive"})")),
            "accepted");
}

TEST(LifecyclePolicy, SinceImagePulledOnlyTransitions) {
  const char* sel =
      R"("tagStatus":"any","countType":"sinceImagePulled","countUnit":"days","countNumber":30)";
  EXPECT_EQ(refusal(policy({rule(1, sel)})),
            "rule 1: countType 'sinceImagePulled' is only allowed with action type 'transition'");
  EXPECT_EQ(refusal(policy({archive_rule(1, sel)})), "accepted");
  EXPECT_EQ(refusal(policy({archive_rule(
                1, R"("tagStatus":"any","countType":"sinceImagePulled","countNumber":30)")})),
            "rule 1: countType 'sinceImagePulled' requires countUnit 'days'");
}

TEST(LifecyclePolicy, SinceImageTransitionedNeedsArchiveExpireAndNinetyDays) {
  const char* ok =
      R"("tagStatus":"any","storageClass":"archive","countType":"sinceImageTransitioned","countUnit":"days","countNumber":90)";
  EXPECT_EQ(refusal(policy({rule(1, ok)})), "accepted");
  EXPECT_EQ(
      refusal(policy({rule(
          1,
          R"("tagStatus":"any","countType":"sinceImageTransitioned","countUnit":"days","countNumber":90)")})),
      "rule 1: countType 'sinceImageTransitioned' requires storageClass 'archive'");
  EXPECT_EQ(
      refusal(policy({rule(
          1,
          R"("tagStatus":"any","storageClass":"standard","countType":"sinceImageTransitioned","countUnit":"days","countNumber":90)")})),
      "rule 1: countType 'sinceImageTransitioned' requires storageClass 'archive'");
  EXPECT_EQ(
      refusal(policy({rule(
          1,
          R"("tagStatus":"any","storageClass":"archive","countType":"sinceImageTransitioned","countUnit":"days","countNumber":89)")})),
      "rule 1: countType 'sinceImageTransitioned' requires a countNumber of at least 90 days");
  EXPECT_EQ(refusal(policy({archive_rule(1, ok)})),
            "rule 1: countType 'sinceImageTransitioned' is only allowed with action type 'expire'");
}

TEST(LifecyclePolicy, StorageClassArchiveOnlyWithSinceImageTransitioned) {
  EXPECT_EQ(
      refusal(policy({rule(
          1,
          R"("tagStatus":"any","storageClass":"archive","countType":"imageCountMoreThan","countNumber":1)")})),
      "rule 1: storageClass 'archive' is only allowed with countType 'sinceImageTransitioned'");
  EXPECT_EQ(
      refusal(policy({rule(
          1,
          R"("tagStatus":"any","storageClass":"glacier","countType":"imageCountMoreThan","countNumber":1)")})),
      "rule 1: storageClass must be standard or archive, not 'glacier'");
  EXPECT_EQ(
      refusal(policy({rule(
          1,
          R"("tagStatus":"any","storageClass":"standard","countType":"imageCountMoreThan","countNumber":1)")})),
      "accepted");
}

TEST(LifecyclePolicy, OrderingRulesHoldPerStorageClass) {
  // ECR's documented archive-then-expire policy: two "any" rules, one per class.
  auto text = policy(
      {archive_rule(
           1,
           R"("tagStatus":"any","countType":"sinceImagePulled","countUnit":"days","countNumber":90)"),
       rule(
           2,
           R"("tagStatus":"any","storageClass":"archive","countType":"sinceImageTransitioned","countUnit":"days","countNumber":365)")});
  EXPECT_EQ(refusal(text), "accepted");
  auto two_untagged_archive = policy(
      {rule(
           1,
           R"("tagStatus":"untagged","storageClass":"archive","countType":"sinceImageTransitioned","countUnit":"days","countNumber":90)"),
       rule(
           2,
           R"("tagStatus":"untagged","storageClass":"archive","countType":"sinceImageTransitioned","countUnit":"days","countNumber":100)")});
  EXPECT_EQ(refusal(two_untagged_archive),
            "only one rule may select untagged images of storageClass 'archive'");
}

TEST(LifecyclePolicy, SinceImagePulledMeasuresFromPullThenRestoreThenPush) {
  auto text = policy({archive_rule(
      1,
      R"("tagStatus":"any","countType":"sinceImagePulled","countUnit":"days","countNumber":3)")});
  // Pushed 6..1 days ago. 0: never pulled (push 6 days ago) goes; 1: pulled
  // 1 day ago stays; 2: pulled 5 days ago goes; 3: pulled 5 days ago but
  // restored 2 days ago stays; 4: archived, not a standard image; 5: never
  // pulled, pushed 1 day ago, stays.
  auto imgs = storage({{"a"}, {"b"}, {"c"}, {"d"}, {"e"}, {"f"}},
                      {{'A'}, {'A', -1, 1}, {'A', -1, 5}, {'A', -1, 5, 2}, {'R', 10}, {'A'}});
  EXPECT_EQ(expire(text, imgs), (std::vector<std::string>{"0@1(archive)", "2@1(archive)"}));
}

TEST(LifecyclePolicy, SinceImageTransitionedExpiresLongArchivedImages) {
  auto text = policy({rule(
      1,
      R"("tagStatus":"any","storageClass":"archive","countType":"sinceImageTransitioned","countUnit":"days","countNumber":90)")});
  // Archived 100 and 50 days ago, one active, one being restored.
  auto imgs = storage({{"a"}, {"b"}, {"c"}, {"d"}}, {{'R', 100}, {'R', 50}, {'A'}, {'V', 200}});
  EXPECT_EQ(expire(text, imgs), (std::vector<std::string>{"0@1"}));
}

TEST(LifecyclePolicy, StandardRulesLeaveArchivedAndRestoringImagesAlone) {
  auto text =
      policy({rule(1, R"("tagStatus":"any","countType":"imageCountMoreThan","countNumber":1)")});
  // Only the two active images count: the older goes.
  auto imgs = storage({{"a"}, {"b"}, {"c"}, {"d"}}, {{'A'}, {'R', 1}, {'A'}, {'V'}});
  EXPECT_EQ(expire(text, imgs), (std::vector<std::string>{"0@1"}));
}

struct MixedCase {
  const char* name;
  std::vector<std::string> rules;
  std::vector<std::vector<std::string>> tags;  // oldest first
  std::vector<std::string> expected;
  std::vector<Moment> moments = {};  // storage class and times, per image (default: active)
};

class MixedPolicies : public ::testing::TestWithParam<MixedCase> {};

TEST_P(MixedPolicies, ExpireTheExpectedImages) {
  const MixedCase& c = GetParam();
  EXPECT_EQ(expire(policy(c.rules), storage(c.tags, c.moments)), c.expected) << c.name;
}

const char* kUntaggedKeep1 =
    R"("tagStatus":"untagged","countType":"imageCountMoreThan","countNumber":1)";
const char* kProdKeep2 =
    R"("tagStatus":"tagged","tagPrefixList":["prod"],"countType":"imageCountMoreThan","countNumber":2)";
const char* kAnyOlder3Days =
    R"("tagStatus":"any","countType":"sinceImagePushed","countUnit":"days","countNumber":3)";
const char* kAnyPulled2Days =
    R"("tagStatus":"any","countType":"sinceImagePulled","countUnit":"days","countNumber":2)";
const char* kArchivedOver90Days =
    R"("tagStatus":"any","storageClass":"archive","countType":"sinceImageTransitioned","countUnit":"days","countNumber":90)";
const char* kStandardProdKeep1 =
    R"("tagStatus":"tagged","tagPrefixList":["prod"],"storageClass":"standard","countType":"imageCountMoreThan","countNumber":1)";
const char* kReleasePattern =
    R"("tagStatus":"tagged","tagPatternList":["release-*"],"countType":"sinceImagePushed","countUnit":"days","countNumber":5)";
const char* kRcPatternKeep1 =
    R"("tagStatus":"tagged","tagPatternList":["*-rc*"],"countType":"imageCountMoreThan","countNumber":1)";

INSTANTIATE_TEST_SUITE_P(
    Table, MixedPolicies,
    ::testing::Values(
        MixedCase{"untagged then prod",
                  {rule(1, kUntaggedKeep1), rule(2, kProdKeep2)},
                  {{}, {"prod1"}, {}, {"prod2"}, {"prod3"}, {}},
                  {"0@1", "1@2", "2@1"}},
        MixedCase{"prod then any by age",
                  {rule(1, kProdKeep2), rule(9, kAnyOlder3Days)},
                  {{"prod1"}, {"dev"}, {"prod2"}, {}, {"prod3"}},
                  // pushed 5..1 days ago; prod1 goes by rule 1; prod2 is protected
                  // from rule 9 because rule 1 selected it.
                  {"0@1", "1@9"}},
        MixedCase{"pattern by age and untagged",
                  {rule(3, kReleasePattern), rule(4, kUntaggedKeep1)},
                  {{"release-1"}, {}, {"release-2"}, {}, {}, {}, {"release-3"}},
                  {"0@3", "1@4", "3@4", "4@4"}},
        MixedCase{"nothing matches", {rule(1, kProdKeep2)}, {{"dev1"}, {"dev2"}, {}}, {}},
        MixedCase{
            "image with two matching tags counted once",
            {rule(
                1,
                R"("tagStatus":"tagged","tagPatternList":["v*"],"countType":"imageCountMoreThan","countNumber":1)")},
            {{"v1", "v1.0"}, {"v2", "v2.0"}},
            {"0@1"}},
        MixedCase{"archive unpulled, expire long archived",
                  {archive_rule(1, kAnyPulled2Days), rule(2, kArchivedOver90Days)},
                  {{"a"}, {"b"}, {"c"}, {"d"}},
                  // 0 archived 120 days ago, 1 archived 30 days ago, 2 pulled 5
                  // days ago, 3 pulled today.
                  {"0@2", "2@1(archive)"},
                  {{'R', 120}, {'R', 30}, {'A', -1, 5}, {'A', -1, 0}}},
        MixedCase{"storageClass standard by prefix, archive by pattern",
                  {rule(1, kStandardProdKeep1), archive_rule(2, kRcPatternKeep1)},
                  {{"prod1"}, {"v1-rc1"}, {"prod2"}, {"v2-rc1"}, {"v3-rc1"}},
                  {"0@1", "1@2(archive)", "3@2(archive)"}},
        MixedCase{"archived images are not counted by standard rules",
                  {rule(1, kUntaggedKeep1)},
                  {{}, {}, {}},
                  {"1@1"},
                  {{'R', 10}, {'A'}, {'A'}}},
        MixedCase{"restoring image left alone, restore time counts as a pull",
                  {archive_rule(1, kAnyPulled2Days)},
                  {{"a"}, {"b"}, {"c"}},
                  // pushed 3, 2, 1 days ago: 0 restored yesterday stays; 1 is
                  // ACTIVATING; 2 pushed 1 day ago stays.
                  {},
                  {{'A', 50, -1, 1}, {'V', 40}, {'A'}}}));

}  // namespace
}  // namespace ecr::server
