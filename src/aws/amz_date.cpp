#include "aws/amz_date.hpp"

#include <cstdio>

namespace ecr::aws {

using namespace std::chrono;

std::string format_amz_date(system_clock::time_point time) {
  const auto seconds = floor<std::chrono::seconds>(time);
  const auto midnight = floor<days>(seconds);
  const year_month_day ymd{midnight};
  const hh_mm_ss hms{seconds - midnight};
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d%02u%02uT%02d%02d%02dZ", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                static_cast<int>(hms.hours().count()), static_cast<int>(hms.minutes().count()),
                static_cast<int>(hms.seconds().count()));
  return buf;
}

std::optional<system_clock::time_point> parse_amz_date(std::string_view text) {
  if (text.size() != 16 || text[8] != 'T' || text[15] != 'Z') return std::nullopt;
  auto number = [&](std::size_t pos, std::size_t len) -> int {
    int value = 0;
    for (std::size_t i = pos; i < pos + len; ++i) {
      if (text[i] < '0' || text[i] > '9') return -1;
      value = value * 10 + (text[i] - '0');
    }
    return value;
  };
  const int y = number(0, 4), mo = number(4, 2), d = number(6, 2);
  const int h = number(9, 2), mi = number(11, 2), s = number(13, 2);
  if (y < 0 || mo < 0 || d < 0 || h < 0 || mi < 0 || s < 0) return std::nullopt;
  // system_clock counts nanoseconds in 64 bits: years past 2262 overflow it.
  // No signature is made outside these years.
  if (y < kMinAmzYear || y > kMaxAmzYear) return std::nullopt;
  const year_month_day ymd{year{y}, month{static_cast<unsigned>(mo)},
                           day{static_cast<unsigned>(d)}};
  if (!ymd.ok() || h > 23 || mi > 59 || s > 59) return std::nullopt;
  return sys_days{ymd} + hours{h} + minutes{mi} + seconds{s};
}

}  // namespace ecr::aws
