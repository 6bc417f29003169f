// The retry policy and a caller that wants to stop: an aborted request is not
// tried again, and once RetryOptions::abort is set no attempt follows.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <vector>

#include "aws/retry.hpp"
#include "http/transport.hpp"

namespace ecr::aws {
namespace {

using std::chrono::milliseconds;

ServiceError throttling_error() { return ServiceError("ThrottlingException", "Rate exceeded", 400); }

// A policy with five attempts, a recorded sleep and the abort flag `abort`;
// `on_sleep` runs inside each recorded sleep.
struct AbortablePolicy {
  explicit AbortablePolicy(std::function<void()> on_sleep = {})
      : policy(RetryOptions{5,
                            [this, on_sleep](milliseconds delay) {
                              sleeps.push_back(delay);
                              if (on_sleep) on_sleep();
                            },
                            [] { return 0.5; }, &abort}) {}
  std::atomic<bool> abort{false};
  std::vector<milliseconds> sleeps;
  RetryPolicy policy;
};

TEST(RetryAbort, AbortedRequestIsNotRetriedEvenWithoutTheFlag) {
  AbortablePolicy fake;
  int calls = 0;
  EXPECT_THROW(fake.policy.run([&]() -> int {
    ++calls;
    throw http::RequestAborted("request aborted (POST http://127.0.0.1:1/)");
  }),
               http::RequestAborted);
  EXPECT_EQ(calls, 1);
  EXPECT_TRUE(fake.sleeps.empty());
}

TEST(RetryAbort, FlagSetDuringAnAttemptStopsTheRetries) {
  AbortablePolicy fake;
  int calls = 0;
  EXPECT_THROW(fake.policy.run([&]() -> int {
    if (++calls == 2) fake.abort.store(true);
    throw throttling_error();
  }),
               ServiceError);
  // The first failure was retried; the second, with the flag set, was not.
  EXPECT_EQ(calls, 2);
  EXPECT_EQ(fake.sleeps.size(), 1u);
}

TEST(RetryAbort, FlagSetDuringTheBackoffStopsTheRetries) {
  AbortablePolicy* self = nullptr;
  AbortablePolicy fake([&] { self->abort.store(true); });
  self = &fake;
  int calls = 0;
  EXPECT_THROW(fake.policy.run([&]() -> int {
    ++calls;
    throw TransportError("connection reset");
  }),
               TransportError);
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(fake.sleeps.size(), 1u);
}

TEST(RetryAbort, WithoutTheFlagEveryAttemptIsMade) {
  AbortablePolicy fake;
  int calls = 0;
  EXPECT_THROW(fake.policy.run([&]() -> int {
    ++calls;
    throw throttling_error();
  }),
               ServiceError);
  EXPECT_EQ(calls, 5);
}

}  // namespace
}  // namespace ecr::aws
