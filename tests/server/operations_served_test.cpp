// Which operations of the ECR service model ecr-local serves: all of them
// except pull through cache and replication, which answer
// UnsupportedOperationException (docs/ecr-local.md, Operations).
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <string_view>

#include "api/model_table.hpp"
#include "server/operations.hpp"

namespace ecr::server {
namespace {

const std::set<std::string_view> kNotServed = {
    "CreatePullThroughCacheRule",     "DeletePullThroughCacheRule",
    "DescribePullThroughCacheRules",  "UpdatePullThroughCacheRule",
    "ValidatePullThroughCacheRule",   "PutReplicationConfiguration",
    "DescribeImageReplicationStatus",
};

TEST(OperationsServed, EveryModelOperationButPullThroughCacheAndReplication) {
  std::set<std::string> missing, unexpected;
  for (const auto& op : api::model::operations()) {
    const bool served = Operations::implements(op.name);
    if (!served && !kNotServed.contains(op.name)) missing.emplace(op.name);
    if (served && kNotServed.contains(op.name)) unexpected.emplace(op.name);
  }
  EXPECT_EQ(missing, std::set<std::string>{});
  EXPECT_EQ(unexpected, std::set<std::string>{});
  for (auto name : kNotServed) {
    EXPECT_NE(api::model::find_operation(name), nullptr) << name << " is not in the model";
  }
}

TEST(OperationsServed, NamesOutsideTheModelAreNotServed) {
  EXPECT_FALSE(Operations::implements("GetImage"));
  EXPECT_FALSE(Operations::implements(""));
  EXPECT_FALSE(Operations::implements("batchgetimage"));
}

}  // namespace
}  // namespace ecr::server
