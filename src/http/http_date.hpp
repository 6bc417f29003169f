// HTTP-date (RFC 9110 section 5.6.7, formerly RFC 7231 section 7.1.1.1): the
// Date header a server stamps on its responses, from which a client learns
// the server's clock.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace ecr::http {

// "Sun, 06 Nov 1994 08:49:37 GMT" (IMF-fixdate, the one form senders use);
// sub-second precision is dropped.
std::string format_http_date(std::chrono::system_clock::time_point time);

// The years parse_http_date accepts: no server stamps another, and every
// time point in them fits system_clock with room to add an offset.
inline constexpr int kMinHttpDateYear = 1970;
inline constexpr int kMaxHttpDateYear = 2200;

// Parses the three forms a recipient must accept, exactly as the grammar
// spells them (case-sensitive names, single spaces, "GMT"):
//   IMF-fixdate  "Sun, 06 Nov 1994 08:49:37 GMT"
//   rfc850-date  "Sunday, 06-Nov-94 08:49:37 GMT" (two-digit year: 70-99 is
//                19xx, 00-69 is 20xx)
//   asctime      "Sun Nov  6 08:49:37 1994"
// Leading and trailing spaces and tabs (header whitespace) are ignored. The
// day name must be the date's own, the date a real one in
// kMinHttpDateYear..kMaxHttpDateYear, and the time of day valid (second 60,
// a leap second, reads as the next second). nullopt for anything else.
std::optional<std::chrono::system_clock::time_point> parse_http_date(std::string_view text);

}  // namespace ecr::http
