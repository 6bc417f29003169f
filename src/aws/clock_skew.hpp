// Clock skew correction, as the AWS SDKs do it (aws-sdk-cpp's
// AWSClient::AdjustClockSkew, the Java SDK's ClockSkewAdjuster): a SigV4
// signature carries the signer's time, and AWS refuses one more than 15
// minutes away from its own. When an error answer says the signing time was
// the problem, the client learns the server's time from the answer's Date
// header, keeps the difference for the rest of the process, and signs again.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string_view>

#include "http/transport.hpp"

namespace ecr::aws {

// An authentication error counts as skew only when the server's Date is at
// least this far from the time the request was signed with: aws-sdk-cpp's
// TIME_DIFF_MAX (4 minutes), well inside the 15 minutes SigV4 allows, far
// above any network delay.
inline constexpr std::chrono::minutes kClockSkewThreshold{4};

// The correction every signer of the process adds to its local clock
// (server time minus local time); zero until a skew error taught one.
// Thread-safe (one atomic).
std::chrono::milliseconds clock_correction() noexcept;
void set_clock_correction(std::chrono::milliseconds correction) noexcept;

// What an error answer says about the client's clock: the correction to
// adopt (the server's Date minus `local_now`), or nullopt when the answer is
// no skew error or carries no usable Date (the error then goes through
// unchanged). Skew errors are
//   - RequestTimeTooSkewed, RequestExpired, RequestInTheFuture, and
//     InvalidSignatureException whose message starts "Signature expired" or
//     "Signature not yet current" (ECR's and ecr-local's wording): the
//     server said the time was wrong;
//   - InvalidSignatureException (any other message), SignatureDoesNotMatch
//     and AuthFailure, when the Date is kClockSkewThreshold or more away from
//     `signing_time`: a wrong clock can read as a bad signature.
// `signing_time` is the time the refused request was signed with (local
// clock plus the correction then in force); `local_clock` is read once, for
// a skew error with a usable Date only, as the answer's arrival time.
std::optional<std::chrono::milliseconds> skew_correction(
    std::string_view error_name, std::string_view message, const http::Headers& response_headers,
    std::chrono::system_clock::time_point signing_time,
    const std::function<std::chrono::system_clock::time_point()>& local_clock);

}  // namespace ecr::aws
