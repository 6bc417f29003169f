#include "aws/retry.hpp"

#include <algorithm>
#include <cmath>
#include <random>
#include <thread>

#include "http/transport.hpp"

namespace ecr::aws {

namespace {

double uniform_unit() {
  thread_local std::mt19937_64 engine{std::random_device{}()};
  return std::uniform_real_distribution<double>(0.0, 1.0)(engine);
}

}  // namespace

RetryPolicy::RetryPolicy(RetryOptions options) : options_(std::move(options)) {
  if (options_.max_attempts < 1) {
    throw InputError("max_attempts must be at least 1, got " +
                     std::to_string(options_.max_attempts));
  }
  if (!options_.sleep) {
    options_.sleep = [abort = options_.abort](std::chrono::milliseconds delay) {
      const auto until = std::chrono::steady_clock::now() + delay;
      for (auto now = std::chrono::steady_clock::now(); now < until;
           now = std::chrono::steady_clock::now()) {
        if (abort != nullptr && abort->load()) return;
        std::this_thread::sleep_for(
            std::min<std::chrono::steady_clock::duration>(until - now, kAbortPollInterval));
      }
    };
  }
  if (!options_.random) options_.random = &uniform_unit;
}

bool RetryPolicy::retryable(const Error& error) {
  if (const auto* service = dynamic_cast<const ServiceError*>(&error)) return service->retryable();
  // The caller stopped the request on purpose.
  if (dynamic_cast<const http::RequestAborted*>(&error) != nullptr) return false;
  if (const auto* transport = dynamic_cast<const TransportError*>(&error)) {
    return transport->retryable();
  }
  // Input and integrity errors come out the same however often they are tried.
  return false;
}

bool RetryPolicy::prepare_retry(RequestRetries& retries, const Error& error) {
  return prepare_resume(retries, error, /*progressed=*/false, options_.max_attempts);
}

bool RetryPolicy::prepare_resume(RequestRetries& retries, const Error& error, bool progressed,
                                 int limit) {
  if (progressed) retries.attempts = 0;
  ++retries.attempts;
  if (aborted() || !retryable(error) || retries.attempts >= limit) return false;
  const auto* transport = dynamic_cast<const TransportError*>(&error);
  const int cost = transport != nullptr && transport->timeout() ? kTimeoutRetryCost : kRetryCost;
  if (!acquire_quota(cost)) return false;
  retries.last_retry_cost = cost;
  if (progressed) return true;
  options_.sleep(backoff(retries.attempts));
  // Interrupted while waiting: the quota paid is not refunded, as for any
  // retry that did not succeed.
  return !aborted();
}

void RetryPolicy::record_success(const RequestRetries& retries) {
  const int refund = retries.last_retry_cost > 0 ? retries.last_retry_cost : kNoRetryRefund;
  std::lock_guard lock(mutex_);
  quota_ = std::min(kQuotaCapacity, quota_ + refund);
}

std::chrono::milliseconds RetryPolicy::backoff(int failed_attempts) const {
  const double cap_seconds = std::min(std::ldexp(1.0, std::max(failed_attempts, 1) - 1),
                                      static_cast<double>(kMaxBackoff.count()));
  const double draw = std::clamp(options_.random(), 0.0, 1.0);
  return std::chrono::milliseconds(std::llround(draw * cap_seconds * 1000.0));
}

int RetryPolicy::available_quota() const {
  std::lock_guard lock(mutex_);
  return quota_;
}

bool RetryPolicy::acquire_quota(int cost) {
  std::lock_guard lock(mutex_);
  if (quota_ < cost) return false;
  quota_ -= cost;
  return true;
}

}  // namespace ecr::aws
