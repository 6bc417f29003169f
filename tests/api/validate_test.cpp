// One test per constraint kind of the model, each asserting the member path,
// the constraint and ECR's message wording.
#include <gtest/gtest.h>

#include <random>
#include <regex>
#include <string>
#include <vector>

#include "api/model_pattern.hpp"
#include "api/model_table.hpp"
#include "api/validate.hpp"
#include "core/json_reader.hpp"

namespace ecr {
namespace {

constexpr const char* kRepositoryNamePattern =
    R"([a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*)";

// Runs validate_json_text and returns the error (fails the test when none).
api::ValidationError validation_error(std::string_view shape, std::string_view json) {
  try {
    api::validate_json_text(shape, json);
  } catch (const api::ValidationError& e) {
    return e;
  }
  ADD_FAILURE() << "no ValidationError for " << json;
  return api::ValidationError("", "", "");
}

TEST(Validate, MissingRequiredMemberMustNotBeNull) {
  const auto e = validation_error("CreateRepositoryRequest", "{}");
  EXPECT_EQ(e.member(), "repositoryName");
  EXPECT_EQ(e.constraint(), "required");
  EXPECT_STREQ(e.what(),
               "1 validation error detected: Value null at 'repositoryName' failed to satisfy "
               "constraint: Member must not be null");
}

TEST(Validate, NullCountsAsAbsent) {
  const auto e = validation_error("CreateRepositoryRequest", R"({"repositoryName":null})");
  EXPECT_EQ(e.constraint(), "required");
}

TEST(Validate, StringShorterThanMinLength) {
  const auto e = validation_error("CreateRepositoryRequest", R"({"repositoryName":"a"})");
  EXPECT_EQ(e.member(), "repositoryName");
  EXPECT_EQ(e.constraint(), "min length");
  EXPECT_STREQ(e.what(),
               "1 validation error detected: Value 'a' at 'repositoryName' failed to satisfy "
               "constraint: Member must have length greater than or equal to 2");
}

TEST(Validate, StringLongerThanMaxLengthQuotesAShortenedValue) {
  const std::string name(257, 'a');
  const auto e =
      validation_error("CreateRepositoryRequest", R"({"repositoryName":")" + name + R"("})");
  EXPECT_EQ(e.constraint(), "max length");
  EXPECT_EQ(std::string(e.what()),
            "1 validation error detected: Value '" + std::string(256, 'a') +
                "...' at 'repositoryName' failed to satisfy constraint: Member must have length "
                "less than or equal to 256");
}

TEST(Validate, PatternMismatch) {
  const auto e = validation_error("CreateRepositoryRequest", R"({"repositoryName":"Team/App"})");
  EXPECT_EQ(e.member(), "repositoryName");
  EXPECT_EQ(e.constraint(), "pattern");
  EXPECT_EQ(std::string(e.what()),
            std::string("1 validation error detected: Value 'Team/App' at 'repositoryName' failed "
                        "to satisfy constraint: Member must satisfy regular expression pattern: ") +
                kRepositoryNamePattern);
}

TEST(Validate, EnumOutsideTheValueSet) {
  const auto e = validation_error("CreateRepositoryRequest",
                                  R"({"repositoryName":"app","imageTagMutability":"SOMETIMES"})");
  EXPECT_EQ(e.member(), "imageTagMutability");
  EXPECT_EQ(e.constraint(), "enum");
  EXPECT_STREQ(e.what(),
               "1 validation error detected: Value 'SOMETIMES' at 'imageTagMutability' failed to "
               "satisfy constraint: Member must satisfy enum value set: [MUTABLE, IMMUTABLE, "
               "IMMUTABLE_WITH_EXCLUSION, MUTABLE_WITH_EXCLUSION]");
}

TEST(Validate, NumberBelowMin) {
  const auto e = validation_error("DescribeRepositoriesRequest", R"({"maxResults":0})");
  EXPECT_EQ(e.member(), "maxResults");
  EXPECT_EQ(e.constraint(), "min");
  EXPECT_STREQ(e.what(),
               "1 validation error detected: Value '0' at 'maxResults' failed to satisfy "
               "constraint: Member must have value greater than or equal to 1");
}

TEST(Validate, NumberAboveMax) {
  const auto e = validation_error("DescribeRepositoriesRequest", R"({"maxResults":1001})");
  EXPECT_EQ(e.constraint(), "max");
  EXPECT_STREQ(e.what(),
               "1 validation error detected: Value '1001' at 'maxResults' failed to satisfy "
               "constraint: Member must have value less than or equal to 1000");
}

TEST(Validate, ListWithFewerThanMinItems) {
  const auto e =
      validation_error("BatchGetImageRequest", R"({"repositoryName":"app","imageIds":[]})");
  EXPECT_EQ(e.member(), "imageIds");
  EXPECT_EQ(e.constraint(), "min items");
  EXPECT_STREQ(e.what(),
               "1 validation error detected: Value '[]' at 'imageIds' failed to satisfy "
               "constraint: Member must have length greater than or equal to 1");
}

TEST(Validate, ListWithMoreThanMaxItems) {
  std::string ids;
  for (int i = 0; i < 101; ++i) ids += std::string(i ? "," : "") + R"({"imageTag":"v"})";
  const auto e = validation_error("BatchGetImageRequest",
                                  R"({"repositoryName":"app","imageIds":[)" + ids + "]}");
  EXPECT_EQ(e.member(), "imageIds");
  EXPECT_EQ(e.constraint(), "max items");
  EXPECT_NE(std::string(e.what()).find("' at 'imageIds' failed to satisfy constraint: Member must "
                                       "have length less than or equal to 100"),
            std::string::npos);
}

TEST(Validate, NestedMemberPathIncludesTheIndex) {
  const auto e = validation_error(
      "BatchGetImageRequest",
      R"({"repositoryName":"app","imageIds":[{"imageTag":"a"},{"imageTag":"b"},{"imageTag":""}]})");
  EXPECT_EQ(e.member(), "imageIds[2].imageTag");
  EXPECT_EQ(e.constraint(), "min length");
  EXPECT_STREQ(e.what(),
               "1 validation error detected: Value '' at 'imageIds[2].imageTag' failed to "
               "satisfy constraint: Member must have length greater than or equal to 1");
}

TEST(Validate, WrongJsonTypeIsATypeViolation) {
  const auto e = validation_error("CreateRepositoryRequest", R"({"repositoryName":5})");
  EXPECT_EQ(e.member(), "repositoryName");
  EXPECT_EQ(e.constraint(), "type");
  EXPECT_STREQ(e.what(),
               "1 validation error detected: Value '5' at 'repositoryName' failed to satisfy "
               "constraint: Member must be a string");
}

TEST(Validate, EveryViolationIsReportedFirstOneDescribed) {
  const auto e =
      validation_error("DescribeRepositoriesRequest", R"({"maxResults":0,"registryId":"12345"})");
  EXPECT_EQ(e.member(), "maxResults");
  EXPECT_EQ(e.constraint(), "min");
  EXPECT_STREQ(e.what(),
               "2 validation errors detected: Value '0' at 'maxResults' failed to satisfy "
               "constraint: Member must have value greater than or equal to 1; Value '12345' at "
               "'registryId' failed to satisfy constraint: Member must satisfy regular "
               "expression pattern: [0-9]{12}");
}

TEST(Validate, UnanchoredModelPatternsMatchWholeValues) {
  // RegistryId's pattern is "[0-9]{12}" without anchors; AWS still wants exactly 12 digits.
  const auto e =
      validation_error("DescribeRepositoriesRequest", R"({"registryId":"1234567890123"})");
  EXPECT_EQ(e.member(), "registryId");
  EXPECT_EQ(e.constraint(), "pattern");
  EXPECT_NO_THROW(
      api::validate_json_text("DescribeRepositoriesRequest", R"({"registryId":"123456789012"})"));
}

TEST(Validate, BlobLengthCountsDecodedBytes) {
  api::UploadLayerPartRequest request;
  request.repositoryName = "app";
  request.uploadId = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0";
  request.partFirstByte = 0;
  request.partLastByte = 20971520;
  request.layerPartBlob.assign(20971520, 'x');  // the model's maximum: accepted
  EXPECT_NO_THROW(api::validate(request));
  request.layerPartBlob.push_back('x');
  try {
    api::validate(request);
    FAIL() << "no exception";
  } catch (const api::ValidationError& e) {
    EXPECT_EQ(e.member(), "layerPartBlob");
    EXPECT_EQ(e.constraint(), "max length");
    EXPECT_STREQ(e.what(),
                 "1 validation error detected: Value '<20971521 bytes>' at 'layerPartBlob' "
                 "failed to satisfy constraint: Member must have length less than or equal to "
                 "20971520");
  }
}

TEST(Validate, TypedValuesAreCheckedLikeTheirJson) {
  api::BatchGetImageRequest request;
  request.repositoryName = "app";
  request.imageIds = {api::ImageIdentifier{std::nullopt, std::string()}};
  try {
    api::validate(request);
    FAIL() << "no exception";
  } catch (const api::ValidationError& e) {
    EXPECT_EQ(e.member(), "imageIds[0].imageTag");
    EXPECT_EQ(e.constraint(), "min length");
  }
}

TEST(Validate, MapKeysAreCheckedAgainstTheKeyShape) {
  // FindingSeverityCounts is keyed by the FindingSeverity enum.
  const auto e = validation_error("ImageScanFindings", R"({"findingSeverityCounts":{"BAD":1}})");
  EXPECT_EQ(e.member(), "findingSeverityCounts.BAD");
  EXPECT_EQ(e.constraint(), "enum");
}

TEST(Validate, UnknownShapeIsAnInputError) {
  EXPECT_THROW(api::validate_json_text("NoSuchRequest", "{}"), InputError);
}

TEST(ModelPattern, EveryPatternInTheModelCompiles) {
  int patterns = 0;
  for (const auto& shape : api::model::shapes()) {
    if (shape.pattern.empty()) continue;
    ++patterns;
    EXPECT_NO_THROW(api::model::compile_pattern(shape.pattern)) << shape.name;
  }
  EXPECT_EQ(patterns, 16);
}

TEST(ModelPattern, UnanchoredPatternMustMatchTheWholeValue) {
  EXPECT_TRUE(api::model::matches_pattern("[0-9]{12}", "123456789012"));
  EXPECT_FALSE(api::model::matches_pattern("[0-9]{12}", "1234567890123"));
  EXPECT_FALSE(api::model::matches_pattern("[0-9]{12}", "x123456789012"));
}

TEST(ModelPattern, LongestAllowedValuesMatchWithoutExhaustingTheStack) {
  // KmsKeyForRepositoryCreationTemplate allows 2048 characters.
  const std::string kms = "arn:aws:kms:us-east-1:123456789012:key/" + std::string(2000, 'a');
  EXPECT_TRUE(api::model::matches_pattern(
      R"(^$|arn:aws[a-z0-9-]*:kms:[a-z0-9-]+:[0-9]{12}:key\/[a-z0-9-]+)", kms));
  const std::string huge(api::model::kMaxPatternInput + 1, 'a');
  EXPECT_FALSE(api::model::matches_pattern("[a-z]+", huge));
}

// Short values in and around the model's patterns, for comparing the matcher
// with std::regex: only short ones, as std::regex itself takes exponential
// time on longer near-misses of the nested patterns (the reason for the
// matcher).
const std::vector<std::string>& pattern_samples() {
  static const std::vector<std::string> samples = {"",
                                                   "a",
                                                   "123456789012",
                                                   "us-east-1",
                                                   "team/app-1",
                                                   "app_x.y__z--w",
                                                   "a*b/c-d",
                                                   "latest",
                                                   "v1.2-rc*",
                                                   "sha256:0123abcdef",
                                                   "AbC+/=",
                                                   "ROOT",
                                                   "ecr-public/",
                                                   "x/",
                                                   "a..b",
                                                   "a/",
                                                   "/a",
                                                   "a__b",
                                                   "a___b",
                                                   "-a",
                                                   "a-",
                                                   "A",
                                                   "a b",
                                                   "**",
                                                   "a/*/b",
                                                   "a.b/c_d"};
  return samples;
}

// The model's patterns through the linear-time matcher agree with
// std::regex (ECMAScript) on the samples, on every one-character edit and
// deletion of them, and on random values over the characters the patterns
// use.
TEST(ModelPattern, AgreesWithStdRegexOnTheModelsPatterns) {
  const std::string alphabet = "az09AZ-_./:*@+=, ";
  std::mt19937 random(7);
  int compared = 0;
  int matched = 0;
  for (const auto& shape : api::model::shapes()) {
    if (shape.pattern.empty()) continue;
    const std::regex reference(std::string(shape.pattern), std::regex::ECMAScript);
    std::vector<std::string> values = pattern_samples();
    for (const std::string& sample : pattern_samples()) {
      for (std::size_t i = 0; i < sample.size(); ++i) {
        for (const char c : alphabet) {
          std::string edited = sample;
          edited[i] = c;
          values.push_back(edited);
        }
        values.push_back(sample.substr(0, i) + sample.substr(i + 1));
      }
    }
    for (int i = 0; i < 2000; ++i) {
      std::string v(random() % 14, 'a');
      for (char& c : v) c = alphabet[random() % alphabet.size()];
      values.push_back(v);
    }
    for (const std::string& v : values) {
      const bool expected = std::regex_match(v, reference);
      ASSERT_EQ(api::model::matches_pattern(shape.pattern, v), expected)
          << shape.name << " " << shape.pattern << " on \"" << v << "\"";
      ++compared;
      matched += expected ? 1 : 0;
    }
  }
  EXPECT_GT(matched, 1000) << "of " << compared;
}

// Values too long to compare with std::regex, each accepted by its shape's
// pattern, and refused with one character changed.
TEST(ModelPattern, LongValuesOfTheModelsShapesMatch) {
  const std::vector<std::pair<std::string_view, std::string>> cases = {
      {"KmsKeyForRepositoryCreationTemplate", "arn:aws:kms:us-east-1:123456789012:key/abc-1"},
      {"PrincipalArn", "arn:aws:iam::123456789012:role/Build+Role/x@y"},
      {"PrincipalArn", "arn:aws-cn:iam::123456789012:user/u"},
      {"SigningProfileArn", "arn:aws:signer:us-west-2:123456789012:/signing-profiles/prof_1"},
      {"CredentialArn",
       "arn:aws:secretsmanager:us-east-1:123456789012:secret:ecr-pullthroughcache/a/b=c"},
      {"UploadId", "0b9a1c2d-0000-4a4a-9f9f-0123456789ab"},
      {"RepositoryName", "team/group.sub/app__x-y"},
      {"ScanningRepositoryFilterValue", "prod/*-service.v2"}};
  for (const auto& [name, value] : cases) {
    std::string_view pattern;
    for (const auto& shape : api::model::shapes()) {
      if (shape.name == name) pattern = shape.pattern;
    }
    ASSERT_FALSE(pattern.empty()) << name;
    EXPECT_TRUE(api::model::matches_pattern(pattern, value)) << name << " on " << value;
    std::string broken = value;
    broken[broken.size() / 2] = '!';
    EXPECT_FALSE(api::model::matches_pattern(pattern, broken)) << name << " on " << broken;
  }
}

// Classes as ECMAScript reads them: a '-' after a range, first or last is
// itself; escapes inside; negation.
TEST(ModelPattern, ClassesReadAsEcmaScriptReadsThem) {
  for (const char* pattern : {"[0-9-_]+", "[a-zA-Z0-9-_+.]+", "[-a]+", "[a-]+", "[\\w+=,.@-]+",
                              "[^a-c]+", "[._\\-/a]+", "[a-zA-Z0-9-:]+", "[\\S]+"}) {
    const std::regex reference(pattern, std::regex::ECMAScript);
    for (const char* value : {"-", "_", "5", "A", ":", "/", "a", "d", "+", " ", "9-_", "\\"}) {
      EXPECT_EQ(api::model::matches_pattern(pattern, value), std::regex_match(value, reference))
          << pattern << " on \"" << value << "\"";
    }
  }
}

// A repetition inside a repetition: std::regex backtracks exponentially on a
// value that almost matches (the fuzzer held a handler of ecr-local for over
// 20 minutes with one). Answered here after one pass over the value.
TEST(ModelPattern, NestedRepetitionsDoNotBacktrack) {
  const std::string scanning_filter = R"(^[a-z0-9*](?:[._\-/a-z0-9*]?[a-z0-9*]+)*$)";
  EXPECT_FALSE(api::model::matches_pattern(scanning_filter, std::string(254, 'a') + "!"));
  EXPECT_TRUE(api::model::matches_pattern(scanning_filter, std::string(255, 'a')));
  const std::string repository =
      R"([a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*)";
  std::string almost;
  for (int i = 0; i < 100; ++i) almost += "a-";
  EXPECT_FALSE(api::model::matches_pattern(repository, almost + "-!"));
  EXPECT_TRUE(api::model::matches_pattern(repository, almost + "a"));
}

TEST(ModelPattern, SyntaxOutsideTheModelsGrammarIsRefused) {
  for (const char* pattern :
       {"(?=a)", "(?!a)", "(a)\\1", "\\bword", "[a", "a)", "(a", "*a", "a{3,1}", "\\x41", "a\\"}) {
    EXPECT_THROW(api::model::compile_pattern(pattern), std::regex_error) << pattern;
  }
}

}  // namespace
}  // namespace ecr
