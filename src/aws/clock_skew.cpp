#include "aws/clock_skew.hpp"

#include <array>
#include <atomic>
#include <cstdint>

#include "ecr/clock.hpp"
#include "http/http_date.hpp"

namespace ecr::aws {

using namespace std::chrono;

namespace {

// Milliseconds: the Date header has whole seconds, the local clock finer.
std::atomic<std::int64_t> g_correction_ms{0};

// The server said the signing time was outside what it accepts.
bool names_the_time(std::string_view name, std::string_view message) {
  static constexpr std::array<std::string_view, 3> kTimeErrors = {
      "RequestTimeTooSkewed", "RequestExpired", "RequestInTheFuture"};
  for (auto time_error : kTimeErrors) {
    if (name == time_error) return true;
  }
  return name == "InvalidSignatureException" && (message.starts_with("Signature expired") ||
                                                 message.starts_with("Signature not yet current"));
}

// An authentication failure a wrong clock can cause among others.
bool may_be_the_time(std::string_view name) {
  return name == "InvalidSignatureException" || name == "SignatureDoesNotMatch" ||
         name == "AuthFailure";
}

}  // namespace

milliseconds clock_correction() noexcept {
  return milliseconds(g_correction_ms.load(std::memory_order_relaxed));
}

void set_clock_correction(milliseconds correction) noexcept {
  g_correction_ms.store(correction.count(), std::memory_order_relaxed);
}

std::optional<milliseconds> skew_correction(
    std::string_view error_name, std::string_view message, const http::Headers& response_headers,
    system_clock::time_point signing_time,
    const std::function<system_clock::time_point()>& local_clock) {
  const bool definite = names_the_time(error_name, message);
  if (!definite && !may_be_the_time(error_name)) return std::nullopt;
  const auto date_header = http::find_header(response_headers, "Date");
  if (!date_header) return std::nullopt;
  const auto server_time = http::parse_http_date(*date_header);
  if (!server_time) return std::nullopt;
  if (!definite) {
    const auto apart = *server_time - signing_time;
    if (apart < kClockSkewThreshold && apart > -kClockSkewThreshold) return std::nullopt;
  }
  return duration_cast<milliseconds>(*server_time - local_clock());
}

}  // namespace ecr::aws

namespace ecr {

std::chrono::milliseconds clock_correction() noexcept { return aws::clock_correction(); }

std::chrono::system_clock::time_point corrected_now() {
  return std::chrono::system_clock::now() + aws::clock_correction();
}

}  // namespace ecr
