// The AWS SDK "standard" retry mode (botocore, aws-sdk-cpp): a bounded number
// of attempts, capped exponential backoff with full jitter, and a client-wide
// retry quota so a struggling service is not hit by a storm of retries.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <mutex>
#include <type_traits>

#include "ecr/error.hpp"

namespace ecr::aws {

struct RetryOptions {
  // Attempts per request, the first one included; at least 1.
  int max_attempts = 3;
  // Waits between attempts. Default: sleeps in short slices, returning early
  // once `abort` reads true. Tests pass a recorder. Called without locks
  // held; must be thread-safe when the policy is shared by threads.
  std::function<void(std::chrono::milliseconds)> sleep;
  // A uniform draw from [0, 1). Default: a per-thread Mersenne twister. Same
  // thread-safety rule as `sleep`.
  std::function<double()> random;
  // When this reads true no further attempt is made: a failed attempt's
  // error is rethrown as it is instead of waiting out a backoff (checked
  // before and after the sleep). Not owned; may be null.
  const std::atomic<bool>* abort = nullptr;
};

// What one request has spent so far; lives for the duration of one call.
struct RequestRetries {
  int attempts = 0;         // attempts that ended in an error
  int last_retry_cost = 0;  // quota paid for the latest retry; 0 when none
};

// Decides, for every request of one client, whether and when to try again.
// One object is shared by all requests of a client; every member is
// thread-safe.
class RetryPolicy {
 public:
  // The numbers of the standard mode, as botocore and aws-sdk-cpp define them.
  static constexpr int kQuotaCapacity = 500;
  static constexpr int kRetryCost = 5;
  static constexpr int kTimeoutRetryCost = 10;
  static constexpr int kNoRetryRefund = 1;
  static constexpr std::chrono::seconds kMaxBackoff{20};
  // How often the default sleep looks at RetryOptions::abort: short enough
  // that Ctrl-C during a 20 s backoff feels immediate, long enough to cost
  // nothing.
  static constexpr std::chrono::milliseconds kAbortPollInterval{50};

  // Throws InputError when options.max_attempts < 1.
  explicit RetryPolicy(RetryOptions options = {});

  // Calls `attempt` until it returns, then returns its result. An ecr::Error
  // is retried when retryable (ServiceError::retryable(), any TransportError
  // but http::RequestAborted), attempts remain, the quota can pay and
  // RetryOptions::abort is not set; otherwise it is rethrown as is.
  // Other exceptions pass straight through.
  template <typename Attempt>
  std::invoke_result_t<Attempt&> run(Attempt&& attempt);

  // After a failed attempt: true when another attempt should be made, in
  // which case the quota has been charged and the backoff slept.
  bool prepare_retry(RequestRetries& retries, const Error& error);
  // The same for a transfer that resumes where its last attempt stopped (a
  // download's Range, an upload's lastValidByteReceived), with `limit`
  // attempts instead of max_attempts. An attempt that moved the transfer
  // forward (`progressed`) does not count against the limit, as aws-c-s3
  // budgets retries per part: the count starts again and the retry follows
  // at once, so only attempts in a row that make no progress use the limit
  // up. Every retry still pays the quota, which stops a storm against a
  // failing service however much progress each attempt makes.
  bool prepare_resume(RequestRetries& retries, const Error& error, bool progressed, int limit);
  // After a successful answer: refunds the latest retry's cost, or
  // kNoRetryRefund when the request needed no retry (never above capacity).
  void record_success(const RequestRetries& retries);

  // random * min(2^(failed_attempts - 1), kMaxBackoff) seconds.
  std::chrono::milliseconds backoff(int failed_attempts) const;

  int available_quota() const;
  int max_attempts() const noexcept { return options_.max_attempts; }

 private:
  static bool retryable(const Error& error);
  bool aborted() const noexcept { return options_.abort != nullptr && options_.abort->load(); }
  // Takes `cost` tokens when the bucket holds them.
  bool acquire_quota(int cost);

  RetryOptions options_;
  mutable std::mutex mutex_;
  int quota_ = kQuotaCapacity;
};

template <typename Attempt>
std::invoke_result_t<Attempt&> RetryPolicy::run(Attempt&& attempt) {
  RequestRetries retries;
  for (;;) {
    try {
      if constexpr (std::is_void_v<std::invoke_result_t<Attempt&>>) {
        attempt();
        record_success(retries);
        return;
      } else {
        auto result = attempt();
        record_success(retries);
        return result;
      }
    } catch (const Error& error) {
      if (!prepare_retry(retries, error)) throw;
    }
  }
}

}  // namespace ecr::aws
