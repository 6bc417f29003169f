// The ISO 8601 basic timestamps SigV4 uses ("20150830T123600Z" in X-Amz-Date,
// "20150830" in the credential scope).
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace ecr::aws {

// "yyyymmddThhmmssZ" in UTC; sub-second precision is dropped.
std::string format_amz_date(std::chrono::system_clock::time_point time);

// The years parse_amz_date accepts: system_clock's range (1677-2262) held
// to the years a signature can carry.
inline constexpr int kMinAmzYear = 1970;
inline constexpr int kMaxAmzYear = 2200;

// Parses exactly "yyyymmddThhmmssZ" with a valid calendar date and time of
// day in kMinAmzYear..kMaxAmzYear; nullopt otherwise.
std::optional<std::chrono::system_clock::time_point> parse_amz_date(std::string_view text);

}  // namespace ecr::aws
