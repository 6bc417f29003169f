// HTTP-date: what ecr-local stamps on its answers, and what the client
// accepts from a server, hostile ones included.
#include "http/http_date.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <string>

namespace ecr::http {
namespace {

using namespace std::chrono;

// 1994-11-06T08:49:37Z, RFC 9110's example (a Sunday).
const system_clock::time_point kRfcExample = sys_days{year{1994} / 11 / 6} + 8h + 49min + 37s;

TEST(HttpDate, FormatsImfFixdateInGmt) {
  EXPECT_EQ(format_http_date(kRfcExample), "Sun, 06 Nov 1994 08:49:37 GMT");
  EXPECT_EQ(format_http_date(sys_days{year{2026} / 12 / 3} + 6h + 5min + 9s + 999ms),
            "Thu, 03 Dec 2026 06:05:09 GMT");
  EXPECT_EQ(format_http_date(system_clock::time_point{}), "Thu, 01 Jan 1970 00:00:00 GMT");
}

TEST(HttpDate, ParsesTheThreeFormsOfTheRfc) {
  EXPECT_EQ(parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"), kRfcExample);
  EXPECT_EQ(parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT"), kRfcExample);
  EXPECT_EQ(parse_http_date("Sun Nov  6 08:49:37 1994"), kRfcExample);
  EXPECT_EQ(parse_http_date("Thu Dec 03 06:05:09 2026"),
            sys_days{year{2026} / 12 / 3} + 6h + 5min + 9s);
}

TEST(HttpDate, ReadsWhatItWrites) {
  const auto t = sys_days{year{2024} / 2 / 29} + 23h + 59min + 59s;
  EXPECT_EQ(parse_http_date(format_http_date(t)), t);
}

TEST(HttpDate, TwoDigitYearsPivotAtSeventy) {
  EXPECT_EQ(parse_http_date("Thursday, 01-Jan-70 00:00:00 GMT"), system_clock::time_point{});
  EXPECT_EQ(parse_http_date("Tuesday, 03-Dec-69 00:00:00 GMT"),
            system_clock::time_point{sys_days{year{2069} / 12 / 3}});
}

TEST(HttpDate, HeaderWhitespaceAroundTheValueIsIgnored) {
  EXPECT_EQ(parse_http_date(" \tSun, 06 Nov 1994 08:49:37 GMT \t"), kRfcExample);
}

TEST(HttpDate, ALeapSecondReadsAsTheNextSecond) {
  EXPECT_EQ(parse_http_date("Sat, 31 Dec 2016 23:59:60 GMT"),
            system_clock::time_point{sys_days{year{2017} / 1 / 1}});
}

TEST(HttpDate, GarbageAndHostileValuesAreRefused) {
  for (const char* bad : {
           "",
           "   ",
           "yesterday",
           "0",
           "1704164645",                          // seconds since the epoch
           "20240102T030405Z",                    // X-Amz-Date's form
           "2024-01-02T03:04:05Z",                // ISO 8601
           "Sun, 06 Nov 1994 08:49:37 UTC",       // only GMT
           "Sun, 06 Nov 1994 08:49:37 +0000",     // RFC 2822 zone
           "Sun, 06 Nov 1994 08:49:37",           // no zone
           "Sun, 06 Nov 1994 08:49:37 GMT junk",  // trailing text
           "Sun, 6 Nov 1994 08:49:37 GMT",        // one-digit day
           "sun, 06 nov 1994 08:49:37 gmt",       // names are case-sensitive
           "Sun,  06 Nov 1994 08:49:37 GMT",      // two spaces
           "Mon, 06 Nov 1994 08:49:37 GMT",       // the wrong day name
           "Sun, 31 Feb 1994 08:49:37 GMT",       // no such date
           "Sun, 00 Nov 1994 08:49:37 GMT",       //
           "Sun, 06 Foo 1994 08:49:37 GMT",       // no such month
           "Sun, 06 Nov 1994 24:00:00 GMT",       // hours 0-23
           "Sun, 06 Nov 1994 08:60:00 GMT",       // minutes 0-59
           "Sun, 06 Nov 1994 08:49:61 GMT",       // seconds 0-60
           "Sun, 06 Nov 1994 8:49:37 GMT",        //
           "Sun, 06 Nov -994 08:49:37 GMT",       // signs are not digits
           "Sun, 06 Nov 1994 08:49:3\x01 GMT",    // control characters
           "Wed, 31 Dec 1969 23:59:59 GMT",       // before 1970
           "Fri, 01 Jan 2201 00:00:00 GMT",       // after 2200
           "Sat, 01 Jan 2263 00:00:00 GMT",       // past system_clock's range
           "Fri, 31 Dec 9999 23:59:59 GMT",       //
           "Sunday, 06-Nov-1994 08:49:37 GMT",    // rfc850 has two-digit years
           "Sun, 06-Nov-94 08:49:37 GMT",         // rfc850 has the long day name
           "Sun Nov 6 08:49:37 1994",             // asctime pads the day with a space
           "Sun Nov  6 08:49:37 1994 GMT",        // asctime has no zone
       }) {
    EXPECT_EQ(parse_http_date(bad), std::nullopt) << "'" << bad << "'";
  }
  EXPECT_EQ(parse_http_date(std::string(1 << 16, 'A')), std::nullopt);
  EXPECT_EQ(parse_http_date(std::string("Sun, 06 Nov 1994 08:49:37 GMT\0", 30)), std::nullopt);
}

}  // namespace
}  // namespace ecr::http
