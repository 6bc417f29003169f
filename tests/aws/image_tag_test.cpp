// The image-tag grammar shared by image references and ecr-local.
#include "aws/image_tag.hpp"

#include <gtest/gtest.h>

#include <string>

namespace ecr::aws {
namespace {

TEST(ImageTag, AcceptsDockerTagsUpTo300Characters) {
  for (const char* tag : {"latest", "v1.2.3-rc_1", "_build", "A", "9", "a..b--c__"}) {
    EXPECT_TRUE(is_valid_image_tag(tag)) << tag;
  }
  EXPECT_TRUE(is_valid_image_tag(std::string(kMaxImageTagLength, 't')));
}

TEST(ImageTag, RefusesEmptyAndOverlong) {
  EXPECT_FALSE(is_valid_image_tag(""));
  EXPECT_FALSE(is_valid_image_tag(std::string(kMaxImageTagLength + 1, 't')));
  EXPECT_FALSE(is_valid_image_tag(std::string(1 << 20, 't')));
}

TEST(ImageTag, RefusesALeadingDotOrDash) {
  EXPECT_FALSE(is_valid_image_tag(".hidden"));
  EXPECT_FALSE(is_valid_image_tag("-rc"));
}

TEST(ImageTag, RefusesReferenceSeparatorsAndEscapes) {
  for (const char* tag : {"a:b", "a@sha256", "team/app", "%41", "a+b", "a*"}) {
    EXPECT_FALSE(is_valid_image_tag(tag)) << tag;
  }
}

TEST(ImageTag, RefusesWhitespaceControlAndNonAscii) {
  for (const char* tag : {"a b", "a\tb", "a\n", "\x7f", "t\xC3\xA5g", "\xFF"}) {
    EXPECT_FALSE(is_valid_image_tag(tag)) << tag;
  }
  EXPECT_FALSE(is_valid_image_tag(std::string_view("a\0b", 3)));
}

}  // namespace
}  // namespace ecr::aws
