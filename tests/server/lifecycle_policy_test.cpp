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

// "index@priority" for each expiration, in the evaluator's order.
std::vector<std::string> expire(const std::string& text, const std::vector<LifecycleImage>& imgs) {
  std::vector<std::string> out;
  for (const auto& e : evaluate_lifecycle(parse_lifecycle_policy(text), imgs, kNow)) {
    out.push_back(std::to_string(e.image) + "@" + std::to_string(e.rule_priority));
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
      "rule 1: countType must be imageCountMoreThan or sinceImagePushed, not 'bytes'");
  EXPECT_EQ(
      refusal(
          R"({"rules":[{"rulePriority":1,"selection":{"tagStatus":"any","countType":"imageCountMoreThan","countNumber":1},"action":{"type":"archive"}}]})"),
      "rule 1: action.type must be 'expire'");
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

struct MixedCase {
  const char* name;
  std::vector<std::string> rules;
  std::vector<std::vector<std::string>> tags;  // oldest first
  std::vector<std::string> expected;
};

class MixedPolicies : public ::testing::TestWithParam<MixedCase> {};

TEST_P(MixedPolicies, ExpireTheExpectedImages) {
  const MixedCase& c = GetParam();
  EXPECT_EQ(expire(policy(c.rules), images(c.tags)), c.expected) << c.name;
}

const char* kUntaggedKeep1 =
    R"("tagStatus":"untagged","countType":"imageCountMoreThan","countNumber":1)";
const char* kProdKeep2 =
    R"("tagStatus":"tagged","tagPrefixList":["prod"],"countType":"imageCountMoreThan","countNumber":2)";
const char* kAnyOlder3Days =
    R"("tagStatus":"any","countType":"sinceImagePushed","countUnit":"days","countNumber":3)";
const char* kReleasePattern =
    R"("tagStatus":"tagged","tagPatternList":["release-*"],"countType":"sinceImagePushed","countUnit":"days","countNumber":5)";

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
            {"0@1"}}));

}  // namespace
}  // namespace ecr::server
