// The standard retry mode: attempts, backoff, and the client-wide quota.
#include "aws/retry.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <stdexcept>
#include <vector>

namespace ecr::aws {
namespace {

using std::chrono::milliseconds;

// A policy whose sleeps are recorded instead of slept and whose jitter draw
// is a fixed number.
struct FakeTimedPolicy {
  explicit FakeTimedPolicy(double draw = 0.5, int max_attempts = 3)
      : policy(RetryOptions{max_attempts, [this](milliseconds delay) { sleeps.push_back(delay); },
                            [draw] { return draw; }}) {}
  std::vector<milliseconds> sleeps;
  RetryPolicy policy;
};

ServiceError throttling() { return ServiceError("ThrottlingException", "Rate exceeded", 400); }

// Runs one request whose attempts fail with `error` `failures` times and then
// succeed; returns how many attempts were made. Rethrows what run() throws.
template <typename E>
int run_failing(RetryPolicy& policy, const E& error, int failures) {
  int calls = 0;
  policy.run([&] {
    if (++calls <= failures) throw error;
    return calls;
  });
  return calls;
}

// A request that never succeeds; returns the attempts made.
template <typename E>
int run_always_failing(RetryPolicy& policy, const E& error) {
  int calls = 0;
  try {
    policy.run([&]() -> int {
      ++calls;
      throw error;
    });
  } catch (const E&) {
  }
  return calls;
}

TEST(RetryPolicy, BackoffIsJitterTimesCappedPowerOfTwoSeconds) {
  FakeTimedPolicy half(0.5);
  EXPECT_EQ(half.policy.backoff(1), milliseconds(500));
  EXPECT_EQ(half.policy.backoff(2), milliseconds(1000));
  EXPECT_EQ(half.policy.backoff(3), milliseconds(2000));
  EXPECT_EQ(half.policy.backoff(5), milliseconds(8000));
  EXPECT_EQ(half.policy.backoff(6), milliseconds(10000));  // 2^5 = 32 s capped at 20 s
  FakeTimedPolicy full(1.0);
  EXPECT_EQ(full.policy.backoff(40), milliseconds(20000));
  FakeTimedPolicy none(0.0);
  EXPECT_EQ(none.policy.backoff(3), milliseconds(0));
}

TEST(RetryPolicy, RetryableErrorIsTriedMaxAttemptsTimesThenRethrown) {
  FakeTimedPolicy fake(0.25);
  int calls = 0;

  try {
    fake.policy.run([&]() -> int {
      ++calls;
      throw throttling();
    });
    FAIL() << "expected the ServiceError back";
  } catch (const ServiceError& error) {
    EXPECT_EQ(error.name(), "ThrottlingException");
  }

  EXPECT_EQ(calls, 3);
  EXPECT_EQ(fake.sleeps, (std::vector<milliseconds>{milliseconds(250), milliseconds(500)}));
  EXPECT_EQ(fake.policy.available_quota(), 500 - 2 * 5);
}

TEST(RetryPolicy, ServerErrorStatusAndTransportErrorAreRetried) {
  FakeTimedPolicy fake;
  EXPECT_EQ(run_failing(fake.policy, ServiceError("ServerException", "boom", 500), 2), 3);
  EXPECT_EQ(run_failing(fake.policy, TransportError("connection reset"), 1), 2);
}

TEST(RetryPolicy, MaxAttemptsIsConfigurable) {
  FakeTimedPolicy five(0.5, 5);
  EXPECT_EQ(run_always_failing(five.policy, throttling()), 5);
  FakeTimedPolicy one(0.5, 1);
  EXPECT_EQ(run_always_failing(one.policy, throttling()), 1);
  EXPECT_TRUE(one.sleeps.empty());
}

TEST(RetryPolicy, ZeroAttemptsIsRefused) {
  EXPECT_THROW(RetryPolicy(RetryOptions{0, {}, {}}), InputError);
}

TEST(RetryPolicy, NonRetryableErrorsAreNotRetried) {
  FakeTimedPolicy fake;
  EXPECT_EQ(
      run_always_failing(fake.policy, ServiceError("RepositoryNotFoundException", "missing", 400)),
      1);
  EXPECT_EQ(run_always_failing(fake.policy, InputError("bad name")), 1);
  EXPECT_EQ(run_always_failing(fake.policy, IntegrityError("digest mismatch")), 1);
  EXPECT_EQ(run_always_failing(fake.policy, std::runtime_error("not ours")), 1);
  EXPECT_TRUE(fake.sleeps.empty());
  EXPECT_EQ(fake.policy.available_quota(), 500);
}

TEST(RetryPolicy, RetryAfterTimeoutCostsTen) {
  FakeTimedPolicy fake;
  EXPECT_EQ(run_always_failing(fake.policy, TransportError("timed out", /*timeout=*/true)), 3);
  EXPECT_EQ(fake.policy.available_quota(), 500 - 2 * 10);
}

TEST(RetryPolicy, SuccessRefundsTheLastRetryCostOrOneToken) {
  FakeTimedPolicy fake;
  run_always_failing(fake.policy, throttling());  // 490 left
  ASSERT_EQ(fake.policy.available_quota(), 490);

  EXPECT_EQ(run_failing(fake.policy, TransportError("timed out", true), 1), 2);
  EXPECT_EQ(fake.policy.available_quota(), 490);  // paid 10, refunded 10

  EXPECT_EQ(run_failing(fake.policy, throttling(), 0), 1);
  EXPECT_EQ(fake.policy.available_quota(), 491);  // no retry: refund 1
}

TEST(RetryPolicy, RefundNeverExceedsCapacity) {
  FakeTimedPolicy fake;
  run_failing(fake.policy, throttling(), 0);
  EXPECT_EQ(fake.policy.available_quota(), 500);
}

TEST(RetryPolicy, ErrorAnswerRefundsNothing) {
  FakeTimedPolicy fake;
  run_always_failing(fake.policy, throttling());
  run_always_failing(fake.policy, ServiceError("RepositoryNotFoundException", "missing", 400));
  EXPECT_EQ(fake.policy.available_quota(), 490);
}

TEST(RetryPolicy, EmptyQuotaStopsRetrying) {
  FakeTimedPolicy fake;
  for (int i = 0; i < 49; ++i) run_always_failing(fake.policy, throttling());
  ASSERT_EQ(fake.policy.available_quota(), 10);

  // One timeout retry takes the last 10 tokens; the next failure finds none.
  EXPECT_EQ(run_always_failing(fake.policy, TransportError("timed out", true)), 2);
  EXPECT_EQ(fake.policy.available_quota(), 0);
  const auto sleeps_before = fake.sleeps.size();
  EXPECT_EQ(run_always_failing(fake.policy, throttling()), 1);
  EXPECT_EQ(fake.sleeps.size(), sleeps_before);

  // A success without retry gives a token back, not enough for a retry (5).
  run_failing(fake.policy, throttling(), 0);
  EXPECT_EQ(fake.policy.available_quota(), 1);
  EXPECT_EQ(run_always_failing(fake.policy, throttling()), 1);
}

TEST(RetryPolicy, TimeoutRetryNeedsTenTokens) {
  FakeTimedPolicy fake;
  for (int i = 0; i < 49; ++i) run_always_failing(fake.policy, throttling());
  run_failing(fake.policy, throttling(), 1);  // pays 5, refunds 5: still 10
  run_always_failing(fake.policy, ServiceError("ThrottlingException", "x", 400));  // -10 -> 0
  for (int i = 0; i < 9; ++i) run_failing(fake.policy, throttling(), 0);           // +9
  ASSERT_EQ(fake.policy.available_quota(), 9);

  EXPECT_EQ(run_always_failing(fake.policy, TransportError("timed out", true)), 1);
  EXPECT_EQ(run_always_failing(fake.policy, TransportError("reset")), 2);  // 5 of 9
  EXPECT_EQ(fake.policy.available_quota(), 4);
}

TEST(RetryPolicy, VoidAttemptsAreSupported) {
  FakeTimedPolicy fake;
  int calls = 0;
  fake.policy.run([&] {
    if (++calls == 1) throw throttling();
  });
  EXPECT_EQ(calls, 2);
}

// A resumed transfer: attempts that moved it forward start the count again
// and are retried at once; only `limit` failures in a row without progress
// give up. Every retry pays the quota all the same.
TEST(RetryPolicy, ProgressStartsTheCountOfFailedAttemptsAgain) {
  FakeTimedPolicy fake;
  RequestRetries retries;
  const TransportError reset("Connection reset by peer");
  // Ten failures, each after progress: all retried, none slept.
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(fake.policy.prepare_resume(retries, reset, /*progressed=*/true, 3)) << i;
  }
  EXPECT_TRUE(fake.sleeps.empty());
  EXPECT_EQ(fake.policy.available_quota(), RetryPolicy::kQuotaCapacity - 10 * 5);
  // The last one began a new count of one; two more without progress make
  // three in a row, and the third gives up. The one retry slept 2^(2-1) s
  // times the draw.
  EXPECT_TRUE(fake.policy.prepare_resume(retries, reset, false, 3));
  EXPECT_FALSE(fake.policy.prepare_resume(retries, reset, false, 3));
  EXPECT_EQ(fake.sleeps, (std::vector<milliseconds>{milliseconds(1000)}));
}

TEST(RetryPolicy, ProgressDoesNotOutrunTheQuota) {
  FakeTimedPolicy fake;
  RequestRetries retries;
  const TransportError stalled("Operation too slow", /*timeout=*/true);
  int retried = 0;
  while (fake.policy.prepare_resume(retries, stalled, /*progressed=*/true, 3)) ++retried;
  EXPECT_EQ(retried, RetryPolicy::kQuotaCapacity / RetryPolicy::kTimeoutRetryCost);
  EXPECT_EQ(fake.policy.available_quota(), 0);
}

TEST(RetryPolicy, ProgressDoesNotMakeAnErrorRetryable) {
  FakeTimedPolicy fake;
  RequestRetries retries;
  EXPECT_FALSE(fake.policy.prepare_resume(
      retries, ServiceError("RepositoryNotFoundException", "gone", 400), true, 3));
  EXPECT_EQ(fake.policy.available_quota(), RetryPolicy::kQuotaCapacity);
}

}  // namespace
}  // namespace ecr::aws
