// ecr-local's token buckets on a fake clock, and the throttle file's rules.
#include "server/throttle.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "ecr/error.hpp"
#include "support/scratch_dir.hpp"

namespace ecr::server {
namespace {

using namespace std::chrono_literals;
using Clock = TokenBucket::Clock;

const Clock::time_point kStart = Clock::time_point(1000s);

int taken(TokenBucket& bucket, int tries, Clock::time_point now) {
  int n = 0;
  for (int i = 0; i < tries; ++i) n += bucket.try_take(now) ? 1 : 0;
  return n;
}

TEST(TokenBucket, AFullBucketLetsABurstThroughThenRefuses) {
  TokenBucket bucket(10, 10);
  EXPECT_EQ(taken(bucket, 25, kStart), 10);
}

TEST(TokenBucket, RefillsAtItsRate) {
  TokenBucket bucket(2, 2);
  ASSERT_EQ(taken(bucket, 5, kStart), 2);
  EXPECT_FALSE(bucket.try_take(kStart + 499ms));
  EXPECT_TRUE(bucket.try_take(kStart + 500ms));
  EXPECT_FALSE(bucket.try_take(kStart + 500ms));
  // A long pause refills to the burst, never beyond it.
  EXPECT_EQ(taken(bucket, 10, kStart + 60s), 2);
}

TEST(TokenBucket, AFractionalRateStillAdmitsOneRequest) {
  TokenBucket bucket(0.5, 0.5);
  EXPECT_EQ(taken(bucket, 3, kStart), 1);
  EXPECT_FALSE(bucket.try_take(kStart + 1999ms));
  EXPECT_TRUE(bucket.try_take(kStart + 2s));
}

TEST(TokenBucket, ThreadsRacingForTheBurstGetExactlyIt) {
  TokenBucket bucket(500, 500);
  std::atomic<int> admitted{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] { admitted += taken(bucket, 1000, kStart); });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(admitted.load(), 500);
}

TEST(Throttle, LimitsOnlyTheOperationsItNames) {
  Throttle throttle(RateTable{{"PutImage", 2}});
  EXPECT_EQ(throttle.rate("PutImage"), 2);
  EXPECT_EQ(throttle.rate("DescribeRepositories"), 0);
  EXPECT_TRUE(throttle.admit("PutImage", kStart));
  EXPECT_TRUE(throttle.admit("PutImage", kStart));
  EXPECT_FALSE(throttle.admit("PutImage", kStart));
  for (int i = 0; i < 100; ++i) EXPECT_TRUE(throttle.admit("DescribeRepositories", kStart));
  EXPECT_TRUE(throttle.admit("", kStart));
}

TEST(Throttle, EcrDefaultsAreThePublishedQuotas) {
  const RateTable expected = {
      {"BatchCheckLayerAvailability", 1000},
      {"BatchGetImage", 2000},
      {"CompleteLayerUpload", 100},
      {"GetAuthorizationToken", 500},
      {"GetDownloadUrlForLayer", 3000},
      {"InitiateLayerUpload", 100},
      {"PutImage", 10},
      {"UploadLayerPart", 500},
  };
  EXPECT_EQ(ecr_rate_quotas(), expected);
}

class ThrottleFile : public ::testing::Test {
 protected:
  std::string refusal(const std::string& text) {
    const auto file = dir_.path() / "rates";
    testing::write_file(file, text);
    try {
      read_throttle_file(file, ecr_rate_quotas());
    } catch (const InputError& e) {
      const std::string message = e.what();
      const std::string prefix = file.string() + ":";
      return message.starts_with(prefix) ? message.substr(prefix.size()) : message;
    }
    return "accepted";
  }
  testing::ScratchDir dir_{"ecr-throttle-test"};
};

TEST_F(ThrottleFile, OverridesTheDefaultsItNamesAndKeepsTheRest) {
  const auto file = dir_.path() / "rates";
  testing::write_file(file,
                      "# slower pushes\n"
                      "\n"
                      "PutImage 2\n"
                      "  UploadLayerPart\t0.5   # one part every two seconds\r\n"
                      "DescribeRepositories 7\n"
                      "BatchGetImage unlimited\n");
  RateTable expected = ecr_rate_quotas();
  expected["PutImage"] = 2;
  expected["UploadLayerPart"] = 0.5;
  expected["DescribeRepositories"] = 7;
  expected.erase("BatchGetImage");
  EXPECT_EQ(read_throttle_file(file, ecr_rate_quotas()), expected);
}

TEST_F(ThrottleFile, RefusesEachMistakeNamingItsLine) {
  EXPECT_EQ(refusal("PutImage 2\nPutImag 3\n"),
            "2: unknown operation \"PutImag\" (not an operation of the ECR API)");
  EXPECT_EQ(refusal("PutImage 0\n"), "1: the rate of PutImage must be positive, found \"0\"");
  EXPECT_EQ(refusal("\n\nPutImage -1\n"), "3: the rate of PutImage must be positive, found \"-1\"");
  EXPECT_EQ(refusal("PutImage fast\n"),
            "1: the rate of PutImage must be a number of requests per second or \"unlimited\", "
            "found \"fast\"");
  EXPECT_EQ(refusal("PutImage 2/s\n"),
            "1: the rate of PutImage must be a number of requests per second or \"unlimited\", "
            "found \"2/s\"");
  EXPECT_EQ(refusal("PutImage inf\n"),
            "1: the rate of PutImage must be a number of requests per second or \"unlimited\", "
            "found \"inf\"");
  EXPECT_EQ(
      refusal("PutImage 2000000\n"),
      "1: the rate of PutImage must be at most 1000000 (or \"unlimited\"), found \"2000000\"");
  EXPECT_EQ(refusal("PutImage\n"),
            "1: expected \"OPERATION RATE\" (e.g. \"PutImage 10\"), found \"PutImage\"");
  EXPECT_EQ(refusal("PutImage 2 3\n"),
            "1: expected \"OPERATION RATE\" (e.g. \"PutImage 10\"), found \"PutImage 2 3\"");
  EXPECT_EQ(refusal("PutImage=2\n"),
            "1: expected \"OPERATION RATE\" (e.g. \"PutImage 10\"), found \"PutImage=2\"");
  EXPECT_EQ(refusal("PutImage 2\n# again\nPutImage 3\n"), "3: PutImage is already given on line 1");
}

TEST_F(ThrottleFile, AMissingFileIsAnInputErrorNamingIt) {
  const auto file = dir_.path() / "absent";
  try {
    read_throttle_file(file, {});
    FAIL() << "read a missing file";
  } catch (const InputError& e) {
    EXPECT_EQ(std::string(e.what()),
              "cannot read throttle file " + file.string() + ": No such file or directory");
  }
}

}  // namespace
}  // namespace ecr::server
