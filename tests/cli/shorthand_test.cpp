// The AWS CLI shorthand syntax, case by case as awscli/shorthand.py reads it.
#include "shorthand.hpp"

#include <gtest/gtest.h>

#include "usage_error.hpp"

namespace ecr::cli {
namespace {

std::string parsed(std::string_view text) { return to_compact_json(parse_shorthand(text)); }

TEST(Shorthand, KeyValuePairs) {
  EXPECT_EQ(parsed("imageTag=latest"), R"({"imageTag":"latest"})");
  EXPECT_EQ(parsed("Key=a,Value=b"), R"({"Key":"a","Value":"b"})");
  EXPECT_EQ(parsed("Key =a , Value= b "), R"({"Key":"a","Value":"b"})");
}

TEST(Shorthand, TrailingBareWordsMakeAList) {
  EXPECT_EQ(parsed("a=b,c,d"), R"({"a":["b","c","d"]})");
  EXPECT_EQ(parsed("a=b,c,x=y"), R"({"a":["b","c"],"x":"y"})");
}

TEST(Shorthand, ExplicitListsHashesAndQuotes) {
  EXPECT_EQ(parsed("a=[b,c],d={e=f,g=[h]}"), R"({"a":["b","c"],"d":{"e":"f","g":["h"]}})");
  EXPECT_EQ(parsed(R"(a='x,y',b="p=q")"), R"({"a":"x,y","b":"p=q"})");
  EXPECT_EQ(parsed(R"(a=x\,y)"), R"({"a":"x,y"})");
  EXPECT_EQ(parsed("a="), R"({"a":""})");
  EXPECT_EQ(parsed("a=b=c"), R"({"a":"b=c"})");
}

TEST(Shorthand, SyntaxErrorsSayWhatWasExpectedAndWhere) {
  try {
    parse_shorthand("imageTag");
    FAIL() << "no error";
  } catch (const UsageError& e) {
    EXPECT_STREQ(e.what(), "Expected: '=', received: 'EOF' for input:\nimageTag\n        ^");
  }
  EXPECT_THROW(parse_shorthand("a=[b"), UsageError);
  EXPECT_THROW(parse_shorthand("a='b"), UsageError);
  EXPECT_THROW(parse_shorthand("a=b,a=c"), UsageError);
}

TEST(Shorthand, CoercionFollowsTheModel) {
  const api::model::ShapeInfo* filter = api::model::find_shape("ImageScanningConfiguration");
  ASSERT_NE(filter, nullptr);
  EXPECT_EQ(to_compact_json(coerce_shorthand(parse_shorthand("scanOnPush=TRUE"), *filter)),
            R"({"scanOnPush":true})");
  const api::model::ShapeInfo* images = api::model::find_shape("ListImagesRequest");
  ASSERT_NE(images, nullptr);
  EXPECT_EQ(to_compact_json(coerce_shorthand(parse_shorthand("maxResults=7"), *images)),
            R"({"maxResults":7})");
  EXPECT_THROW(coerce_shorthand(parse_shorthand("maxResults=seven"), *images), UsageError);
}

}  // namespace
}  // namespace ecr::cli
