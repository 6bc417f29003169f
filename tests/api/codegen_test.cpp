// The checked-in generated sources are what tools/codegen/gen_api.py makes
// from the reference model: nobody edited them by hand, nobody forgot to
// regenerate.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <string>

namespace ecr {
namespace {

TEST(Codegen, GeneratedSourcesMatchTheModel) {
  const std::filesystem::path reference = ECR_REFERENCE_DIR;
  if (!std::filesystem::exists(reference / "ecr-service-model.json")) {
    GTEST_SKIP() << "no reference model at " << reference;
  }
  if (std::system("python3 -c '' >/dev/null 2>&1") != 0) GTEST_SKIP() << "no python3";
  const std::string command = std::string("python3 '") + ECR_SOURCE_DIR +
                              "/tools/codegen/gen_api.py' --check --out '" + ECR_SOURCE_DIR +
                              "' --model '" + (reference / "ecr-service-model.json").string() +
                              "' --paginators '" + (reference / "ecr-paginators.json").string() +
                              "'";
  EXPECT_EQ(std::system(command.c_str()), 0) << command;
}

}  // namespace
}  // namespace ecr
