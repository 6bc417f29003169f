// Which error answers count as clock skew, and the correction they teach.
#include "aws/clock_skew.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <optional>
#include <string>

#include "ecr/clock.hpp"

namespace ecr::aws {
namespace {

using namespace std::chrono;

// Signed at 2024-01-02T03:04:05Z; the answer arrives two seconds later.
const system_clock::time_point kSigned = sys_days{year{2024} / 1 / 2} + 3h + 4min + 5s;
const system_clock::time_point kArrived = kSigned + 2s;

std::optional<milliseconds> correction(const std::string& name, const std::string& message,
                                       http::Headers headers) {
  return skew_correction(name, message, headers, kSigned, [] { return kArrived; });
}

http::Headers dated(const char* date) { return {{"Content-Type", "text/plain"}, {"Date", date}}; }

TEST(ClockSkew, AnExpiredSignatureTakesTheServersTimeMinusTheLocalClock) {
  // The server is an hour ahead: 04:04:05 when the answer left it.
  EXPECT_EQ(correction("InvalidSignatureException",
                       "Signature expired: 20240102T030405Z is now earlier than 20240102T034905Z "
                       "(20240102T040405Z - 15 min.)",
                       dated("Tue, 02 Jan 2024 04:04:05 GMT")),
            milliseconds(3600s - 2s));
}

TEST(ClockSkew, ASignatureNotYetCurrentGivesANegativeCorrection) {
  EXPECT_EQ(correction("InvalidSignatureException",
                       "Signature not yet current: 20240102T030405Z is still later than "
                       "20240102T025905Z (20240102T024405Z + 15 min.)",
                       dated("Tue, 02 Jan 2024 02:44:05 GMT")),
            milliseconds(-20min - 2s));
}

TEST(ClockSkew, TheTimeErrorsOfOtherServicesNeedNoThreshold) {
  // One minute apart: under the threshold, but the server named the time.
  for (const char* name : {"RequestTimeTooSkewed", "RequestExpired", "RequestInTheFuture"}) {
    EXPECT_EQ(correction(name, "", dated("Tue, 02 Jan 2024 03:05:05 GMT")), milliseconds(58s))
        << name;
  }
}

TEST(ClockSkew, ABadSignatureCountsOnlyFourMinutesFromTheSigningTime) {
  for (const char* name : {"InvalidSignatureException", "SignatureDoesNotMatch", "AuthFailure"}) {
    const std::string message = "The request signature we calculated does not match";
    EXPECT_EQ(correction(name, message, dated("Tue, 02 Jan 2024 03:08:04 GMT")), std::nullopt)
        << name;
    EXPECT_EQ(correction(name, message, dated("Tue, 02 Jan 2024 03:08:05 GMT")),
              milliseconds(4min - 2s))
        << name;
    EXPECT_EQ(correction(name, message, dated("Tue, 02 Jan 2024 03:00:06 GMT")), std::nullopt)
        << name;
    EXPECT_EQ(correction(name, message, dated("Tue, 02 Jan 2024 03:00:05 GMT")),
              milliseconds(-4min - 2s))
        << name;
  }
}

TEST(ClockSkew, OtherErrorsAreNeverSkewWhateverTheDate) {
  for (const char* name :
       {"RepositoryNotFoundException", "ThrottlingException", "UnrecognizedClientException",
        "AccessDeniedException", "", "HTTP 403"}) {
    EXPECT_EQ(correction(name, "Signature expired", dated("Tue, 02 Jan 2024 09:04:05 GMT")),
              std::nullopt)
        << name;
  }
}

TEST(ClockSkew, AnAnswerWithoutAUsableDateTeachesNothing) {
  const std::string expired = "Signature expired: 20240102T030405Z is now earlier than ...";
  EXPECT_EQ(correction("InvalidSignatureException", expired, {}), std::nullopt);
  for (const char* date :
       {"", "garbage", "Tue, 02 Jan 2024 04:04:05 UTC", "Wed, 02 Jan 2024 04:04:05 GMT",
        "Sat, 01 Jan 2263 00:00:00 GMT", "20240102T040405Z"}) {
    EXPECT_EQ(correction("InvalidSignatureException", expired, dated(date)), std::nullopt) << date;
  }
}

TEST(ClockSkew, TheDateHeaderIsFoundWhateverItsCase) {
  EXPECT_EQ(correction("RequestTimeTooSkewed", "", {{"date", "Tue, 02 Jan 2024 04:04:05 GMT"}}),
            milliseconds(3600s - 2s));
}

TEST(ClockSkew, TheLocalClockIsReadOnlyForASkewErrorWithADate) {
  int reads = 0;
  const auto counting = [&] {
    ++reads;
    return kArrived;
  };
  skew_correction("RepositoryNotFoundException", "", dated("Tue, 02 Jan 2024 04:04:05 GMT"),
                  kSigned, counting);
  skew_correction("RequestTimeTooSkewed", "", {}, kSigned, counting);
  EXPECT_EQ(reads, 0);
  skew_correction("RequestTimeTooSkewed", "", dated("Tue, 02 Jan 2024 04:04:05 GMT"), kSigned,
                  counting);
  EXPECT_EQ(reads, 1);
}

TEST(ClockSkew, TheCorrectionIsProcessWideAndPublic) {
  set_clock_correction(milliseconds(-1234));
  EXPECT_EQ(clock_correction(), milliseconds(-1234));
  EXPECT_EQ(ecr::clock_correction(), milliseconds(-1234));
  const auto before = system_clock::now();
  const auto corrected = ecr::corrected_now();
  EXPECT_LE(corrected, system_clock::now() - milliseconds(1234));
  EXPECT_GE(corrected, before - milliseconds(1234));
  set_clock_correction(milliseconds(0));
  EXPECT_EQ(ecr::clock_correction(), milliseconds(0));
}

}  // namespace
}  // namespace ecr::aws
