#include "option_names.hpp"

#include <gtest/gtest.h>

namespace ecr::cli {
namespace {

TEST(KebabCase, SplitsCamelCaseAsBotocoreXformName) {
  EXPECT_EQ(kebab_case("repositoryName"), "repository-name");
  EXPECT_EQ(kebab_case("imageIds"), "image-ids");
  EXPECT_EQ(kebab_case("upstreamRegistryUrl"), "upstream-registry-url");
  EXPECT_EQ(kebab_case("force"), "force");
  EXPECT_EQ(kebab_case("KMSKey"), "kms-key");
  EXPECT_EQ(kebab_case("layerPartBlob"), "layer-part-blob");
}

}  // namespace
}  // namespace ecr::cli
