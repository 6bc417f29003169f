// Which service errors the AWS standard retry mode retries. The code lists are
// those of botocore's and aws-sdk-cpp's standard retry mode, so a request that
// the AWS CLI would retry is retried here too, and no other.
#include "ecr/error.hpp"

#include <algorithm>
#include <array>
#include <string>
#include <string_view>
#include <utility>

namespace ecr {
namespace {

constexpr std::array<std::string_view, 14> kThrottlingCodes = {
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottledException",
    "TooManyRequestsException",
    "ProvisionedThroughputExceededException",
    "TransactionInProgressException",
    "RequestLimitExceeded",
    "BandwidthLimitExceeded",
    "LimitExceededException",
    "RequestThrottled",
    "SlowDown",
    "PriorRequestNotComplete",
    "EC2ThrottledException",
};

constexpr std::array<std::string_view, 3> kTransientCodes = {
    "RequestTimeout",
    "RequestTimeoutException",
    "PriorRequestNotComplete",
};

// Gateway and server failures: the request may not have reached the service,
// or the service failed before doing anything that a retry could repeat.
constexpr std::array<int, 4> kTransientStatuses = {500, 502, 503, 504};

template <class List, class Value>
bool contains(const List& list, const Value& value) {
  return std::find(list.begin(), list.end(), value) != list.end();
}

}  // namespace

bool is_throttling_error(std::string_view name) noexcept {
  return contains(kThrottlingCodes, name);
}

bool is_transient_error(std::string_view name) noexcept { return contains(kTransientCodes, name); }

void ServiceError::set_call(std::string operation, int attempts) {
  operation_ = std::move(operation);
  attempts_ = attempts;
  throttled_.clear();
  if (!operation_.empty() && is_throttling_error(name_) && name_ != "LimitExceededException") {
    throttled_ = operation_ + " was throttled by the registry (" + name_ + ": " + message_ +
                 ") after " + std::to_string(attempts_) +
                 (attempts_ == 1 ? " attempt" : " attempts");
  }
}

const char* ServiceError::what() const noexcept {
  return throttled_.empty() ? Error::what() : throttled_.c_str();
}

bool ServiceError::retryable() const noexcept {
  return is_throttling_error(name_) || is_transient_error(name_) ||
         contains(kTransientStatuses, http_status_);
}

}  // namespace ecr
