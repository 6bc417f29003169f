// The checked-in generated sources are what tools/codegen/gen_api.py makes
// from the vendored model (third_party/aws), formatted by clang-format-14:
// nobody edited them by hand, nobody forgot to regenerate.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <string>

namespace ecr {
namespace {

// The model is in the repository and the set-up installs python3 and
// clang-format-14, so a missing one is a failure, never a skip.
TEST(Codegen, GeneratedSourcesMatchTheModel) {
  const std::filesystem::path reference = ECR_REFERENCE_DIR;
  ASSERT_TRUE(std::filesystem::exists(reference / "ecr-service-model.json"))
      << "no service model at " << reference;
  ASSERT_EQ(std::system("python3 -c '' >/dev/null 2>&1"), 0) << "python3 is missing";
  const std::string command =
      std::string("python3 '") + ECR_SOURCE_DIR + "/tools/codegen/gen_api.py' --check --out '" +
      ECR_SOURCE_DIR + "' --model '" + (reference / "ecr-service-model.json").string() +
      "' --paginators '" + (reference / "ecr-paginators.json").string() + "'";
  EXPECT_EQ(std::system(command.c_str()), 0) << command;
}

}  // namespace
}  // namespace ecr
